"""A generic adapter for OpenAI-compatible APIs: a provider that differs only in base URL, header names and
window meaning is one :class:`CompatProvider` entry. Groq and Mistral are registered here; xAI reuses it.

Two header dialects exist in the wild (provider reference section 6):

* ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` with Go-style relative resets (OpenAI, Groq, xAI).
  What each pair *means* differs: Groq's requests pair is per day (RPD), its tokens pair per minute (TPM).
* Mistral's ``x-ratelimit-{limit,remaining}-{tokens,req}-{minute,month}`` and ``x-ratelimit-tokens-query-cost``
  (confirmed: a curl capture in mistralai/client-ts#169, 2026-02); no reset header, the minute window slides.
  The older ``ratelimitbysize-*`` family (reset in seconds) is still read when an answer carries it.

The probe is the cheapest call that returns the headers: a one-token chat completion (``probe = "models"``
lists models instead: free, proves the key, but whether that route carries the headers is not documented).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import QuotaSample, Source, Unit
from quotawarden.plugins import hookimpl
from quotawarden.providers._headers import OpenAIStyleHeaders, add_pair, header_duration, header_num, rate_limited
from quotawarden.providers._quota import SampleSet, bearer, check_status, json_object
from quotawarden.spec import Headers, HttpRequest, HttpResponse, Probe, ProbeContext, ProbeReading, ProviderSpec

# (dimension, period) of ``x-ratelimit-{limit,remaining}-<dimension>-<period>`` -> window, unit, length
MISTRAL_WINDOWS: dict[tuple[str, str], tuple[str, Unit, int | None]] = {
    ("tokens", "minute"): ("tpm", Unit.TOKENS, 60), ("req", "minute"): ("rpm", Unit.REQUESTS, 60),
    ("tokens", "month"): ("monthly", Unit.TOKENS, None), ("req", "month"): ("monthly_requests", Unit.REQUESTS, None)}
# the older by-size family: window -> (limit header, remaining header)
MISTRAL_LEGACY = {"tpm": (("ratelimitbysize-limit", "x-ratelimitbysize-limit-minute"),
                          ("ratelimitbysize-remaining", "x-ratelimitbysize-remaining-minute")),
                  "monthly": (("x-ratelimitbysize-limit-month",), ("x-ratelimitbysize-remaining-month",))}
MISTRAL_COST = ("x-ratelimit-tokens-query-cost", "ratelimitbysize-query-cost")


def first_num(headers: Headers, names: tuple[str, ...]) -> float | None:
    """The first of ``names`` the answer carries, as a number."""
    for name in names:
        value = header_num(headers, name)
        if value is not None:
            return value
    return None


def mistral_query_cost(headers: Headers) -> str | None:
    """Tokens the answered call charged against the minute window (equals ``usage.total_tokens``)."""
    return next((headers[n] for n in MISTRAL_COST if headers.get(n)), None)


@dataclass(frozen=True, slots=True)
class MistralHeaders:
    """``x-ratelimit-{limit,remaining}-{tokens,req}-{minute,month}``; the older ``ratelimitbysize-*`` (reset in
    seconds) and ``x-ratelimitbysize-*-{minute,month}`` where the current names are absent."""

    hosts: tuple[str, ...] = ("api.mistral.ai", "api.eu.mistral.ai")

    def matches(self, host: str, path: str) -> bool:
        return host.lower() in self.hosts

    def read(self, account_id: str, status: int, headers: Headers, now: datetime, *,
             source: Source = Source.PROXY) -> list[QuotaSample]:
        out = SampleSet(account_id, now, source)
        for (dim, period), (window, unit, length) in MISTRAL_WINDOWS.items():
            limit = header_num(headers, f"x-ratelimit-limit-{dim}-{period}")
            left = header_num(headers, f"x-ratelimit-remaining-{dim}-{period}")
            reset = None
            if window in MISTRAL_LEGACY and limit is None and left is None:
                limits, lefts = MISTRAL_LEGACY[window]
                limit, left = first_num(headers, limits), first_num(headers, lefts)
                secs = header_duration(headers, "ratelimitbysize-reset") if window == "tpm" else None
                reset = now + timedelta(seconds=secs) if secs is not None else None
            add_pair(out, window, unit, limit, left, reset, length)
        return out.samples


class CompatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = None
    """Model for the one-token probe; each provider has a cheap default."""
    probe: Literal["completion", "models"] = "completion"


@dataclass(frozen=True, slots=True)
class CompatProvider:
    """One OpenAI-compatible provider as data."""

    slug: str
    display_name: str
    base_url: str
    api_prefix: str
    credential_env: tuple[str, ...]
    default_model: str
    headers: OpenAIStyleHeaders | MistralHeaders
    docs: str = ""

    def spec(self, probe: Probe | None = None, settings_model: type[BaseModel] = CompatSettings) -> ProviderSpec:
        return ProviderSpec(
            slug=self.slug, display_name=self.display_name, default_base_url=self.base_url,
            credential_env=self.credential_env, settings_model=settings_model,
            probe=probe or completion_probe(self), headers=self.headers, kind="api",
            probe_cost="1 chat completion with max_tokens=1 (a few tokens); probe=\"models\" costs nothing",
            docs=self.docs)


def completion_probe(entry: CompatProvider) -> Probe:
    def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
        resp = yield compat_request(entry, ctx)
        return read_compat_response(entry, ctx, resp)

    return probe


def compat_request(entry: CompatProvider, ctx: ProbeContext) -> HttpRequest:
    settings = ctx.settings if isinstance(ctx.settings, CompatSettings) else CompatSettings()
    auth = bearer(ctx.secret, entry.slug)
    if settings.probe == "models":
        return HttpRequest("GET", ctx.url(entry.base_url, f"{entry.api_prefix}/models"), headers=auth)
    body = {"model": settings.model or entry.default_model, "max_tokens": 1,
            "messages": [{"role": "user", "content": "."}]}
    return HttpRequest("POST", ctx.url(entry.base_url, f"{entry.api_prefix}/chat/completions"), headers=auth,
                       json=body, cost_tokens=2)


def read_compat_response(entry: CompatProvider, ctx: ProbeContext, resp: HttpResponse) -> ProbeReading:
    """Samples from the headers of any answer; a 429 keeps them (remaining 0 is worth storing)."""
    samples = entry.headers.read(ctx.account.id, resp.status, resp.headers, ctx.now, source=Source.PROBE)
    if resp.status == 429:
        return rate_limited(entry.slug, samples, resp.headers, ctx.now, resp.body)
    check_status(resp, entry.slug, ctx.now)
    json_object(resp, entry.slug)  # a 200 with a broken body is an upstream fault, not a reading
    details: dict[str, str] = {}
    if cost := mistral_query_cost(resp.headers):
        details["query_cost_tokens"] = cost
    reason = "" if samples else "no rate-limit headers in the response"
    return ProbeReading(samples=samples, reason=reason, details=details)


GROQ = CompatProvider(
    slug="groq", display_name="Groq", base_url="https://api.groq.com", api_prefix="/openai/v1",
    credential_env=("GROQ_API_KEY",), default_model="llama-3.1-8b-instant",
    headers=OpenAIStyleHeaders(("api.groq.com",), {"requests": ("rpd", 86400), "tokens": ("tpm", 60)}),
    docs="x-ratelimit-* headers: the requests pair is per day (RPD), the tokens pair per minute (TPM).")

MISTRAL = CompatProvider(
    slug="mistral", display_name="Mistral", base_url="https://api.mistral.ai", api_prefix="/v1",
    credential_env=("MISTRAL_API_KEY",), default_model="ministral-3b-latest", headers=MistralHeaders(),
    docs="x-ratelimit-*-minute/-month headers: tokens and requests per minute, tokens per month.")

ENTRIES = (GROQ, MISTRAL)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    for entry in ENTRIES:
        register(entry.spec())
