"""OpenRouter: ``GET /api/v1/key`` (any key) and ``GET /api/v1/credits`` (management key), both Confirmed.

``/key`` gives USD floats: lifetime ``usage``, ``usage_daily/weekly/monthly`` (UTC periods, weeks start
Monday) and, when the key has a spending cap, ``limit``, ``limit_remaining`` and ``limit_reset``
(``daily``/``weekly``/``monthly``/null). One sample per period; the period the cap resets on also carries the
cap. ``/credits`` -> ``{total_credits, total_usage}``: the account's prepaid credits (values ~60 s stale).

``/credits`` is asked only with ``credits = true`` (the credential is a management/provisioning key), and not when
``/key`` itself says the key is an ordinary one (``is_management_key`` and ``is_provisioning_key`` false). An
ordinary key gets ``200 {"total_credits": 0, "total_usage": 0}`` there, not a 403 (confirmed: a capture against a
funded key in openchamber/openchamber#3411), so all-zero credits are read as unknown: no sample.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Unit
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import (
    SampleSet,
    bearer,
    check_status,
    json_object,
    next_utc_period,
    num,
    obj,
    opt_num,
)
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://openrouter.ai"
_PERIODS = {"daily": 86400, "weekly": 7 * 86400, "monthly": None}


class OpenRouterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credits: bool = False
    """The credential is a management (provisioning) key: also read the account's prepaid credits from
    ``/credits``. An ordinary key gets zeros there, which are read as unknown."""


def parse_key(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    data = obj(body.get("data"), "data")
    limit = opt_num(data.get("limit"), "data.limit")
    remaining = opt_num(data.get("limit_remaining"), "data.limit_remaining")
    reset = data.get("limit_reset") or "total"
    for period, length in (*_PERIODS.items(), ("total", None)):
        key = "usage" if period == "total" else f"usage_{period}"
        used = opt_num(data.get(key), f"data.{key}")
        if used is None and period != reset:
            continue  # older responses lack the per-period fields
        capped = period == reset and limit is not None
        if capped and remaining is not None and limit is not None:
            used = limit - remaining  # the cap's own accounting (BYOK may or may not count)
        out.add(period, Unit.USD, used=used, limit=limit if capped else None,
                remaining=remaining if capped else None, resets_at=next_utc_period(out.now, period),
                length_s=length)
    flags = {name: data[f"is_{name}"] if isinstance(data.get(f"is_{name}"), bool) else None
             for name in ("management_key", "provisioning_key")}
    return {"free_tier": bool(data.get("is_free_tier")), "limit_reset": data.get("limit_reset"), **flags,
            "expires_at": data.get("expires_at")}


def parse_credits(out: SampleSet, body: dict[str, Any]) -> bool:
    """The ``credits`` sample; False (and no sample) for the all-zero answer an ordinary key gets."""
    data = obj(body.get("data"), "data")
    total = num(data.get("total_credits"), "data.total_credits")
    used = num(data.get("total_usage"), "data.total_usage")
    if total == 0 and used == 0:
        return False
    out.add("credits", Unit.USD, limit=total, used=used, remaining=total - used, signed=True)
    return True


def ordinary_key(details: dict[str, Any]) -> bool:
    """``/key`` says the credential is neither a management nor a provisioning key."""
    return details.get("management_key") is False and details.get("provisioning_key") is False


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, OpenRouterSettings) else OpenRouterSettings()
    auth = bearer(ctx.secret, "openrouter")
    out = SampleSet.of(ctx)
    resp = yield HttpRequest("GET", ctx.url(BASE, "/api/v1/key"), headers=auth)
    check_status(resp, "openrouter", ctx.now)
    details = parse_key(out, json_object(resp, "openrouter"))
    if settings.credits and ordinary_key(details):
        details["credits"] = "not asked: /key says this is not a management key"
    elif settings.credits:
        resp = yield HttpRequest("GET", ctx.url(BASE, "/api/v1/credits"), headers=auth)
        check_status(resp, "openrouter /credits", ctx.now)
        if not parse_credits(out, json_object(resp, "openrouter /credits")):
            details["credits"] = "unknown: /credits answered zeros (what an ordinary key gets)"
    return out.reading(**details)


SPEC = ProviderSpec(
    slug="openrouter", display_name="OpenRouter", default_base_url=BASE, credential_env=("OPENROUTER_API_KEY",),
    settings_model=OpenRouterSettings, probe=probe, kind="balance",
    probe_cost="1 free GET /key (+1 GET /credits with credits = true); no tokens",
    docs="Spend per UTC day/week/month and in total, the key's cap, and prepaid credits (management key).")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
