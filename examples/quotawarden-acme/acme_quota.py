"""Acme's monthly credit quota: a provider plug-in written as a third party would (one module, one entry point).

Acme (a made-up provider) answers ``GET /v1/quota`` with ``{"used": 120, "limit": 1000, "resets_at": "..."}``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Outcome, Provenance, QuotaSample, Source, Unit
from quotawarden.errors import CredentialError, RateLimited
from quotawarden.plugins import hookimpl
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec


class AcmeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str | None = None


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    """Sans-I/O: yield the request, be sent the response, return what it says (the runner does the HTTP)."""
    response = yield HttpRequest("GET", ctx.url("https://api.acme.example", "/v1/quota"),
                                 headers={"authorization": f"Bearer {ctx.secret}"})
    if response.status in (401, 403):
        raise CredentialError(f"acme: HTTP {response.status}")  # the runner reports INVALID
    if response.status == 429:
        raise RateLimited("acme: HTTP 429", retry_after=float(response.headers.get("retry-after", 60)))  # LIMITED
    if response.status != 200:
        return ProbeReading(outcome=Outcome.ERROR, reason=f"acme: HTTP {response.status}")
    body = response.json()
    used, limit = float(body["used"]), float(body["limit"])
    return ProbeReading(samples=[QuotaSample(
        observed_at=ctx.now, account_id=ctx.account.id, window="monthly", unit=Unit.CREDITS, source=Source.PROBE,
        provenance=Provenance.OFFICIAL, used=used, limit=limit, remaining=limit - used, used_ratio=used / limit,
        resets_at=datetime.fromisoformat(body["resets_at"].replace("Z", "+00:00")))])


SPEC = ProviderSpec(slug="acme", display_name="Acme", default_base_url="https://api.acme.example",
                    credential_env=("ACME_API_KEY",), settings_model=AcmeSettings, probe=probe,
                    probe_cost="one free GET /v1/quota")
# Proxied traffic is OpenAI-shaped unless the spec says otherwise: dialect="anthropic" or "gemini".


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
