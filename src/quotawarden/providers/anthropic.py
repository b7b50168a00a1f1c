"""Anthropic API keys: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-*`` and key validity.

The probe is the cheapest call that returns the headers: ``POST /v1/messages`` with ``max_tokens: 1`` on a
small model (a handful of tokens). Token remainders arrive rounded to the nearest thousand; resets are RFC3339
times when the bucket is full again. A 429 still carries the headers (the exhausted bucket shows 0), so its
samples are kept and the outcome is LIMITED until ``retry-after``; a 429 without it (seen in a capture in
anthropics/anthropic-sdk-typescript#357) is LIMITED until the latest reset of an exhausted bucket, and an exhausted
bucket without a reset header reopens at ``retry-after`` (see ``_headers.limited_until``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import QuotaSample, Source, Unit
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._headers import add_pair, answer_reading, header_num, header_time, rate_limited
from quotawarden.providers._quota import SampleSet, retry_after
from quotawarden.spec import Headers, HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.anthropic.com"
VERSION = "2023-06-01"
# header bucket -> (window, unit)
BUCKETS = {"requests": ("rpm", Unit.REQUESTS), "tokens": ("tpm", Unit.TOKENS),
           "input-tokens": ("itpm", Unit.TOKENS), "output-tokens": ("otpm", Unit.TOKENS)}
PROBE_TOKENS = 9


class AnthropicSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    probe_model: str = "claude-haiku-4-5"
    """The model of the one-token probe call (the cheapest one the key can use)."""


@dataclass(frozen=True, slots=True)
class StandardHeaders:
    """Reads the standard rate-limit headers of any Messages API answer (probe or proxied traffic)."""

    hosts: tuple[str, ...] = ("api.anthropic.com",)

    def matches(self, host: str, path: str) -> bool:
        return host.lower() in self.hosts and path.startswith("/v1/")

    def read(self, account_id: str, status: int, headers: Headers, now: datetime, *,
             source: Source = Source.PROXY) -> list[QuotaSample]:
        out = SampleSet(account_id, now, source)
        wait = retry_after(headers, now) if status == 429 else None
        for bucket, (window, unit) in BUCKETS.items():
            prefix = f"anthropic-ratelimit-{bucket}-"
            left = header_num(headers, prefix + "remaining")
            reset = header_time(headers, prefix + "reset")
            if reset is None and left == 0 and wait is not None:  # the exhausted bucket reopens when the 429 says
                reset = now + timedelta(seconds=wait)
            add_pair(out, window, unit, header_num(headers, prefix + "limit"), left, reset, 60)
        return out.samples


HEADERS = StandardHeaders()


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, AnthropicSettings) else AnthropicSettings()
    if not ctx.secret:
        raise CredentialError("anthropic: no API key configured")
    resp = yield HttpRequest(
        "POST", ctx.url(BASE, "/v1/messages"), cost_tokens=PROBE_TOKENS,
        headers={"x-api-key": ctx.secret, "anthropic-version": VERSION, "content-type": "application/json"},
        json={"model": settings.probe_model, "max_tokens": 1, "messages": [{"role": "user", "content": "."}]})
    return read_probe_response(ctx, resp)


def read_probe_response(ctx: ProbeContext, resp: HttpResponse) -> ProbeReading:
    samples = HEADERS.read(ctx.account.id, resp.status, resp.headers, ctx.now, source=Source.PROBE)
    if resp.status == 429:
        return rate_limited("anthropic", samples, resp.headers, ctx.now)
    return answer_reading("anthropic", samples, resp, ctx.now)


SPEC = ProviderSpec(
    dialect="anthropic",
    slug="anthropic", display_name="Anthropic API", default_base_url=BASE, credential_env=("ANTHROPIC_API_KEY",),
    settings_model=AnthropicSettings, probe=probe, headers=HEADERS, kind="api",
    probe_cost=f"1 POST /v1/messages, max_tokens=1 (~{PROBE_TOKENS} tokens)",
    docs="Requests, tokens, input and output tokens per minute (limit, remaining, reset); key validity.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
