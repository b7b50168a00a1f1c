"""OpenAI API keys: ``x-ratelimit-*`` headers from the cheapest call, key validity, quota vs rate limit.

Resets are Go-style durations relative to the answer (``6m0s``, ``1.5s``, ``20ms``). The probe is one
``POST /v1/chat/completions`` with ``max_tokens: 1`` on a small model. A 429 is either a transient rate limit
(``rate_limit_exceeded``: LIMITED with ``retry-after``, headers kept) or ``insufficient_quota`` (billing:
LIMITED, no retry time, reason says so).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Outcome, QuotaSample, Source, Unit
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, check_status, go_duration, json_object, log, num, retry_after
from quotawarden.spec import Headers, HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.openai.com"
PROBE_TOKENS = 9
# header kind -> (window, unit)
KINDS = {"requests": ("rpm", Unit.REQUESTS), "tokens": ("tpm", Unit.TOKENS),
         "project-tokens": ("tpm_project", Unit.TOKENS)}


class OpenAISettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    probe_model: str = "gpt-4.1-nano"


def _number(headers: Headers, name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return num(raw, name)
    except Exception:
        log.warning("ignoring unreadable header %s", name)  # odd headers never crash a reading
        return None


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    hosts: tuple[str, ...] = ("api.openai.com",)

    def matches(self, host: str, path: str) -> bool:
        return host.lower() in self.hosts and path.startswith("/v1/")

    def read(self, account_id: str, status: int, headers: Headers, now: datetime, *,
             source: Source = Source.PROXY) -> list[QuotaSample]:
        out = SampleSet(account_id, now, source)
        for kind, (window, unit) in KINDS.items():
            limit = _number(headers, f"x-ratelimit-limit-{kind}")
            remaining = _number(headers, f"x-ratelimit-remaining-{kind}")
            if limit is None and remaining is None:
                continue
            reset = go_duration(headers.get(f"x-ratelimit-reset-{kind}"))
            used = max(limit - remaining, 0.0) if limit is not None and remaining is not None else None
            out.add(window, unit, limit=limit, remaining=remaining, used=used, length_s=60,
                    resets_at=now + timedelta(seconds=reset) if reset is not None else None)
        return out.samples


HEADERS = RateLimitHeaders()


def error_code(resp: HttpResponse) -> str:
    try:
        err = orjson.loads(resp.body).get("error") or {}
        return str(err.get("code") or err.get("type") or "")
    except (orjson.JSONDecodeError, AttributeError):
        return ""


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, OpenAISettings) else OpenAISettings()
    if not ctx.secret:
        raise CredentialError("openai: no API key configured")
    resp = yield HttpRequest(
        "POST", ctx.url(BASE, "/v1/chat/completions"), cost_tokens=PROBE_TOKENS,
        headers={"Authorization": f"Bearer {ctx.secret}", "Content-Type": "application/json"},
        json={"model": settings.probe_model, "max_tokens": 1, "messages": [{"role": "user", "content": "."}]})
    return read_probe_response(ctx, resp)


def read_probe_response(ctx: ProbeContext, resp: HttpResponse) -> ProbeReading:
    samples = HEADERS.read(ctx.account.id, resp.status, resp.headers, ctx.now, source=Source.PROBE)
    if resp.status == 429:
        if error_code(resp) == "insufficient_quota":
            return ProbeReading(samples=samples, outcome=Outcome.LIMITED,
                                reason="openai: insufficient_quota: billing quota exhausted (add credit; "
                                       "retrying will not help)", details={"insufficient_quota": True})
        wait = retry_after(resp.headers, ctx.now)
        return ProbeReading(samples=samples, outcome=Outcome.LIMITED,
                            retry_at=ctx.now + timedelta(seconds=wait) if wait is not None else None,
                            reason="openai: rate limited (429)" + (f", retry in {wait:g}s" if wait else ""))
    check_status(resp, "openai", ctx.now)
    body = json_object(resp, "openai")
    if not isinstance(body.get("usage"), dict):
        return ProbeReading(outcome=Outcome.ERROR, reason="openai: answer without usage (malformed body)")
    return ProbeReading(samples=samples, reason="" if samples else "no rate-limit headers in the response",
                        details={"model": body.get("model")})


SPEC = ProviderSpec(
    slug="openai", display_name="OpenAI API", default_base_url=BASE, credential_env=("OPENAI_API_KEY",),
    settings_model=OpenAISettings, probe=probe, headers=HEADERS, kind="api",
    probe_cost=f"1 POST /v1/chat/completions, max_tokens=1 (~{PROBE_TOKENS} tokens)",
    docs="Requests and tokens per minute (limit, remaining, reset); key validity; insufficient_quota.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
