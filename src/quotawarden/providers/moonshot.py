"""Moonshot (Kimi) Open Platform balance and the Kimi Code subscription usage.

* ``moonshot``: ``GET /v1/users/me/balance`` (documented) -> ``{code: 0, status: true, data:{available_balance,
  voucher_balance, cash_balance}}`` in the account currency (CNY on ``api.moonshot.cn``, USD on
  ``api.moonshot.ai``; set ``currency`` to override). ``cash_balance`` may be negative (arrears). An account with
  ``available_balance <= 0`` is LIMITED: Moonshot refuses calls then, until a top-up (confirmed: an arrears
  answer ``{available_balance: 0, voucher_balance: 0, cash_balance: -31.14918}`` quoted in Yachiyo-5i/xLyra#76).
* ``kimi``: ``GET api.kimi.com/coding/v1/usages`` (Observed) -> ``usage{limit, used, remaining, resetTime}`` and
  ``limits[{window:{duration, timeUnit}, detail:{...}}]``; counters are **strings**. Since about 2026-09 a count
  may lack ``used`` or ``remaining`` (the other is ``limit`` minus it), and a ``usages`` map adds percentages:
  ``{limit_5h|limit_7d|limit_month_total|limit_month_code: {used_ratio, reset_time}}`` (camelCase ``limit5h``,
  ``usedRatio``, ``resetAt`` under ``data.quota.usages`` in one answer). Confirmed against real answers, see
  tests/providers/kimi/SOURCES.md. A window with counts keeps them (a reported ``used_ratio`` of 0 next to an
  exhausted count was seen); a ``usages`` entry without counts is a percent window named by its length
  (``5h``, ``7d``, ``monthly``; ``limit_month_code`` -> ``monthly_code``). A zero ``limit`` is no count.

Guessed: the unit of Kimi Code counters (we say requests). The top-level ``usage`` takes the name and length of
the ``usages`` entry that resets with it (a real answer: ``limit_7d``); without one it is named ``7d`` without a
stated length, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from quotawarden.domain import Outcome, Unit, window_name
from quotawarden.errors import MalformedResponse
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import (
    SampleSet,
    add_balance,
    arr,
    bearer,
    check_status,
    json_object,
    length_s,
    money,
    obj,
    opt_num,
    parse_time,
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


def arrears_reason(available: Decimal, cash: Decimal | None, currency: str) -> str:
    """Why an account with nothing available is LIMITED (Moonshot refuses calls at ``available_balance <= 0``;
    a negative ``cash_balance`` is a debt). Empty while something is available."""
    if available > 0:
        return ""
    debt = f"; cash balance {cash} {currency} (in arrears)" if cash is not None and cash < 0 else ""
    return (f"moonshot: available balance {available} {currency}{debt}: calls are refused until the account is "
            "topped up (a balance does not reset)")


def balance_probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, MoonshotSettings) else MoonshotSettings()
    url = ctx.url(BASE, "/v1/users/me/balance")
    currency = settings.currency or ("CNY" if (urlsplit(url).hostname or "").endswith(".cn") else "USD")
    resp = yield HttpRequest("GET", url, headers=bearer(ctx.secret, "moonshot"))
    check_status(resp, "moonshot", ctx.now)
    out = SampleSet.of(ctx)
    body = json_object(resp, "moonshot")
    details = parse_balance(out, body, Unit(currency.lower()), settings.reference)
    data = obj(body.get("data"), "data")
    cash = money(data["cash_balance"], "data.cash_balance") if data.get("cash_balance") is not None else None
    reason = arrears_reason(money(data.get("available_balance"), "data.available_balance"), cash, currency)
    return out.reading(Outcome.LIMITED if reason else Outcome.OK, reason, currency=currency, **details)


_RATIO_KEY = re.compile(r"^limit_?(\d+[hd]|month)(?:_([a-z0-9]+))?$")
_SPAN_S = {"h": 3600, "d": 86400}
_MONTH_S = 30 * 86400


@dataclass(frozen=True)
class _Ratio:
    """One ``usages`` entry: a used share of a window, with its reset."""

    name: str
    length: int
    ratio: float
    resets_at: datetime | None


def _counts(d: dict[str, Any], what: str) -> tuple[float, float, float] | None:
    """(limit, used, remaining) from a count detail; either of used/remaining may be missing. None for no count."""
    limit = opt_num(d.get("limit"), f"{what}.limit")
    used, left = opt_num(d.get("used"), f"{what}.used"), opt_num(d.get("remaining"), f"{what}.remaining")
    if not limit:
        return None
    if used is None:
        if left is None:
            raise MalformedResponse(f"{what}: neither used nor remaining")
        used = max(0.0, limit - left)
    return limit, used, max(0.0, limit - used) if left is None else left


def _reset(d: dict[str, Any], what: str, *keys: str) -> datetime | None:
    key = next((k for k in keys if d.get(k)), None)
    return parse_time(d[key], f"{what}.{key}") if key else None


def _ratios(body: dict[str, Any]) -> list[_Ratio]:
    """The ``usages`` map (top level, or ``data.quota.usages``), in the answer's order."""
    raw = body.get("usages")
    if raw is None and isinstance(body.get("data"), dict) and isinstance(body["data"].get("quota"), dict):
        raw = body["data"]["quota"].get("usages")
    out: list[_Ratio] = []
    for key, entry in obj(raw or {}, "usages").items():
        match = _RATIO_KEY.match(str(key))
        if entry is None or match is None:
            continue
        span, scope = match.groups()
        length = _MONTH_S if span == "month" else int(span[:-1]) * _SPAN_S[span[-1]]
        d = obj(entry, f"usages.{key}")
        what = f"usages.{key}"
        ratio = opt_num(d.get("used_ratio", d.get("usedRatio")), f"{what}.used_ratio")
        if ratio is None:
            continue
        name = window_name(length) + (f"_{scope}" if scope and scope != "total" else "")
        out.append(_Ratio(name, length, ratio, _reset(d, what, "reset_time", "resetAt", "reset_at")))
    return out


def _matching(ratios: list[_Ratio], reset: datetime | None) -> _Ratio | None:
    """The longer-than-5h ``usages`` window that resets with the top-level ``usage`` (within a minute)."""
    if reset is None:
        return None
    return next((r for r in ratios if r.length > 5 * 3600 and r.resets_at is not None
                 and abs((r.resets_at - reset).total_seconds()) <= 60), None)


def _add_counts(out: SampleSet, window: str, d: dict[str, Any], what: str, length: int | None) -> bool:
    counts = _counts(d, what)
    if counts is None:
        return False
    limit, used, left = counts
    out.add(window, Unit.REQUESTS, limit=limit, used=used, remaining=left,
            resets_at=_reset(d, what, "resetTime", "reset_time", "resetAt"), length_s=length)
    return True


def parse_kimi(out: SampleSet, body: dict[str, Any]) -> None:
    """Both shapes: counts in ``usage`` and ``limits[]``, percentages in ``usages``; counts win per window."""
    if not any(k in body for k in ("usage", "limits", "usages", "data")):
        raise MalformedResponse("kimi: no usage, limits or usages in the answer")
    ratios = _ratios(body)
    done: set[str] = set()
    if body.get("usage") is not None:
        d = obj(body["usage"], "usage")
        twin = _matching(ratios, _reset(d, "usage", "resetTime", "reset_time", "resetAt"))
        name, length = (twin.name, twin.length) if twin else ("7d", None)
        if _add_counts(out, name, d, "usage", length):
            done.add(name)
    for i, raw in enumerate(arr(body.get("limits") or [], "limits")):
        window = obj(obj(raw, f"limits[{i}]").get("window"), f"limits[{i}].window")
        scale = _TIME_UNITS.get(str(window.get("timeUnit")))
        if scale is None:
            raise MalformedResponse(f"limits[{i}].window: unknown timeUnit {str(window.get('timeUnit'))[:24]!r}")
        length = length_s(window.get("duration"), f"limits[{i}].window.duration", scale)
        name = window_name(length)
        if _add_counts(out, name, obj(raw.get("detail"), f"limits[{i}].detail"), f"limits[{i}].detail", length):
            done.add(name)
    for r in ratios:
        if r.name not in done:
            done.add(r.name)
            out.add(r.name, Unit.PERCENT, used_ratio=r.ratio, resets_at=r.resets_at, length_s=r.length)


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
                 docs="Kimi Code plan: the allowance and each rolling window (5h, 7d, monthly), counts or percent."),
)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    for spec in SPECS:
        register(spec)
