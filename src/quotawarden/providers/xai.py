"""xAI: OpenAI-compatible inference (``x-ratelimit-*`` headers assumed, see below) and the prepaid balance.

An account holds one key. With ``team_id`` set, the key is a **management key** and the probe reads
``GET management-api.x.ai/v1/billing/teams/{team_id}/prepaid/balance`` -> ``{"total":{"val":"-2500"}}``:
string USD cents in an inverted ledger (negative = credit, so -2500 is $25.00 available). Without it, the
key is an inference key and the probe is a one-token completion whose headers are read.

Guessed: xAI does not document its rate-limit headers; we read the OpenAI names (one third-party parser does).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace
from decimal import Decimal

from pydantic import Field

from quotawarden.domain import Unit
from quotawarden.plugins import hookimpl
from quotawarden.providers._headers import OpenAIStyleHeaders
from quotawarden.providers._quota import SampleSet, add_balance, bearer, check_status, json_object, money, obj
from quotawarden.providers.openai_compatible import CompatProvider, CompatSettings, compat_request, read_compat_response
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

MANAGEMENT_BASE = "https://management-api.x.ai"


class XaiSettings(CompatSettings):
    team_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]+$")
    """Set it to read the prepaid balance; the credential is then a management key."""
    reference: float | None = Field(default=None, gt=0)
    """USD to measure the balance against (e.g. your usual top-up): gives an estimated used ratio."""


XAI = CompatProvider(
    slug="xai", display_name="xAI", base_url="https://api.x.ai", api_prefix="/v1",
    credential_env=("XAI_API_KEY",), default_model="grok-3-mini",
    headers=OpenAIStyleHeaders(("api.x.ai",), {"requests": ("requests", None), "tokens": ("tpm", 60)}),
    docs="Inference key: rate-limit headers. Management key + team_id: prepaid balance in USD.")


def parse_balance(ctx: ProbeContext, body: dict[str, object], reference: float | None) -> ProbeReading:
    cents = money(obj(body.get("total"), "total").get("val"), "total.val")
    balance = -cents / Decimal(100)  # inverted ledger: a negative value is credit
    out = SampleSet.of(ctx)
    add_balance(out, "balance", Unit.USD, balance, reference)
    return out.reading(balance_usd=str(balance))


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, XaiSettings) else XaiSettings()
    if not settings.team_id:
        resp = yield compat_request(XAI, ctx)
        return read_compat_response(XAI, ctx, resp)
    url = ctx.url(MANAGEMENT_BASE, f"/v1/billing/teams/{settings.team_id}/prepaid/balance")
    resp = yield HttpRequest("GET", url, headers=bearer(ctx.secret, "xai"))
    check_status(resp, "xai", ctx.now)
    return parse_balance(ctx, json_object(resp, "xai"), settings.reference)


SPEC = replace(XAI.spec(probe=probe, settings_model=XaiSettings),
               probe_cost="team_id set: 1 balance read (free); otherwise 1 chat completion, max_tokens=1")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
