"""Moonshot (Kimi) Open Platform balance and the Kimi Code subscription usage.

* ``moonshot``: ``GET /v1/users/me/balance`` (documented) -> ``{code: 0, status: true, data:{available_balance,
  voucher_balance, cash_balance}}`` in the account currency (CNY on ``api.moonshot.cn``, USD on
  ``api.moonshot.ai``; set ``currency`` to override). ``cash_balance`` may be negative.
* ``kimi``: ``GET api.kimi.com/coding/v1/usages`` (Observed) -> ``usage{limit, used, remaining, resetTime}`` and
  ``limits[{window:{duration, timeUnit}, detail:{...}}]``; counters are **strings**.

Guessed: the unit of Kimi Code counters (we say requests) and the top-level ``usage`` window's length (its
reset matches the weekly reset, so it is named ``7d`` without a stated length).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from quotawarden.domain import Unit
from quotawarden.errors import MalformedResponse
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import (
    SampleSet,
    add_balance,
    arr,
    bearer,
    check_status,
    json_object,
    money,
    num,
    obj,
    parse_time,
    window_name,
)
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.moonshot.ai"
KIMI_BASE = "https://api.kimi.com"
_TIME_UNITS = {"TIME_UNIT_SECOND": 1, "TIME_UNIT_MINUTE": 60, "TIME_UNIT_HOUR": 3600, "TIME_UNIT_DAY": 86400}


class MoonshotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: Literal["USD", "CNY"] | None = None
    """Account currency; by default CNY for api.moonshot.cn, USD otherwise."""
    reference: float | None = Field(default=None, gt=0)


def parse_balance(out: SampleSet, body: dict[str, Any], unit: Unit, reference: float | None) -> dict[str, Any]:
    if body.get("code") not in (0, "0") or body.get("status") is False:
        raise MalformedResponse(f"moonshot: error code {str(body.get('code'))[:12]}")
    data = obj(body.get("data"), "data")
    available = money(data.get("available_balance"), "data.available_balance")
    add_balance(out, "balance", unit, available, reference)
    return {k: str(money(data[k], f"data.{k}")) for k in ("voucher_balance", "cash_balance") if k in data}


def balance_probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, MoonshotSettings) else MoonshotSettings()
    url = ctx.url(BASE, "/v1/users/me/balance")
    currency = settings.currency or ("CNY" if (urlsplit(url).hostname or "").endswith(".cn") else "USD")
    resp = yield HttpRequest("GET", url, headers=bearer(ctx.secret, "moonshot"))
    check_status(resp, "moonshot", ctx.now)
    out = SampleSet.of(ctx)
    details = parse_balance(out, json_object(resp, "moonshot"), Unit(currency.lower()), settings.reference)
    return out.reading(currency=currency, **details)


def _detail(out: SampleSet, window: str, raw: Any, what: str, length: int | None) -> None:
    d = obj(raw, what)
    reset = parse_time(d["resetTime"], f"{what}.resetTime") if d.get("resetTime") else None
    out.add(window, Unit.REQUESTS, limit=num(d.get("limit"), f"{what}.limit"), used=num(d.get("used"), f"{what}.used"),
            remaining=num(d.get("remaining"), f"{what}.remaining"), resets_at=reset, length_s=length)


def parse_kimi(out: SampleSet, body: dict[str, Any]) -> None:
    if body.get("usage") is not None:
        _detail(out, "7d", body["usage"], "usage", None)
    for i, raw in enumerate(arr(body.get("limits", []), "limits")):
        window = obj(obj(raw, f"limits[{i}]").get("window"), f"limits[{i}].window")
        scale = _TIME_UNITS.get(str(window.get("timeUnit")))
        if scale is None:
            raise MalformedResponse(f"limits[{i}].window: unknown timeUnit {str(window.get('timeUnit'))[:24]!r}")
        length = int(num(window.get("duration"), f"limits[{i}].window.duration") * scale)
        _detail(out, window_name(length), raw.get("detail"), f"limits[{i}].detail", length)


def kimi_probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    resp = yield HttpRequest("GET", ctx.url(KIMI_BASE, "/coding/v1/usages"), headers=bearer(ctx.secret, "kimi"))
    check_status(resp, "kimi", ctx.now)
    out = SampleSet.of(ctx)
    parse_kimi(out, json_object(resp, "kimi"))
    return out.reading()


SPECS = (
    ProviderSpec(slug="moonshot", display_name="Moonshot", default_base_url=BASE,
                 credential_env=("MOONSHOT_API_KEY",), settings_model=MoonshotSettings, probe=balance_probe,
                 kind="balance", probe_cost="1 free GET /v1/users/me/balance",
                 docs="Available balance (voucher + cash) in the account currency."),
    ProviderSpec(slug="kimi", display_name="Kimi Code", default_base_url=KIMI_BASE,
                 credential_env=("KIMI_API_KEY",), probe=kimi_probe, kind="subscription",
                 probe_cost="1 free GET /coding/v1/usages",
                 docs="Kimi Code plan: the overall allowance and each rolling window (e.g. 5h)."),
)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    for spec in SPECS:
        register(spec)
