"""OpenAI API keys: ``x-ratelimit-*`` headers from the cheapest call, key validity, quota vs rate limit.

Resets are Go-style durations relative to the answer (``6m0s``, ``1.5s``, ``20ms``). The probe is one
``POST /v1/chat/completions`` with ``max_tokens: 1`` on a small model. A 429 is either a transient rate limit
(``rate_limit_exceeded``: LIMITED with ``retry-after``, headers kept) or ``insufficient_quota`` (billing:
LIMITED, no retry time, reason says so).
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Outcome, Source
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._headers import OpenAIStyleHeaders, answer_reading, rate_limited
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.openai.com"
PROBE_TOKENS = 9
# header kind -> (window, length in seconds)
KINDS = {"requests": ("rpm", 60), "tokens": ("tpm", 60), "project-tokens": ("tpm_project", 60)}


class OpenAISettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    probe_model: str = "gpt-4.1-nano"


HEADERS = OpenAIStyleHeaders(("api.openai.com",), KINDS, path_prefix="/v1/")


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
        return rate_limited("openai", samples, resp.headers, ctx.now, resp.body)
    return answer_reading("openai", samples, resp, ctx.now)


SPEC = ProviderSpec(
    slug="openai", display_name="OpenAI API", default_base_url=BASE, credential_env=("OPENAI_API_KEY",),
    settings_model=OpenAISettings, probe=probe, headers=HEADERS, kind="api",
    probe_cost=f"1 POST /v1/chat/completions, max_tokens=1 (~{PROBE_TOKENS} tokens)",
    docs="Requests and tokens per minute (limit, remaining, reset); key validity; insufficient_quota.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
