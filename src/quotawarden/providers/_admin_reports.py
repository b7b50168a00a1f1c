"""What the organisation Admin API providers (``openai_admin``, ``anthropic_admin``) share: their settings, the
calendar month they report on, paging over daily buckets, and month-to-date spend as the ``monthly`` USD window.

Both APIs answer ``{"data": [bucket, ...], "has_more": bool, "next_page": str}`` with one bucket per day (at most
31 a page, so a month is one page); each bucket's ``results`` become :class:`~quotawarden.domain.UsageEvent` s in
the provider module, which knows the result shapes. Not a plug-in: no entry point names this module.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Unit, UsageEvent
from quotawarden.errors import CredentialError
from quotawarden.providers._quota import SampleSet, arr, check_status, json_object, obj
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading

MAX_PAGES = 50


class AdminSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    monthly_budget_usd: float | None = None
    usage: bool = True
    """Also fetch token usage by model (one more request per page)."""


def settings_of(ctx: ProbeContext, name: str) -> tuple[AdminSettings, str]:
    """The account's settings (defaults when none) and its Admin API key; no key is a ``CredentialError``."""
    if not ctx.secret:
        raise CredentialError(f"{name}: no Admin API key configured")
    settings = ctx.settings if isinstance(ctx.settings, AdminSettings) else AdminSettings()
    return settings, ctx.secret


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(now: datetime) -> datetime:
    start = month_start(now)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def pages(ctx: ProbeContext, url: str, headers: dict[str, str], params: dict[str, str], what: str
          ) -> Generator[HttpRequest, HttpResponse, list[dict[str, Any]]]:
    """Every bucket of a report, following ``next_page`` while ``has_more`` (at most ``MAX_PAGES`` requests)."""
    buckets: list[dict[str, Any]] = []
    page: str | None = None
    for _ in range(MAX_PAGES):
        query = dict(params, **({"page": page} if page else {}))
        resp = yield HttpRequest("GET", url, headers=headers, params=query, purpose="page" if page else "probe")
        check_status(resp, what, ctx.now)
        body = json_object(resp, what)
        buckets += [obj(b, f"{what}.data[]") for b in arr(body.get("data"), f"{what}.data")]
        page = body.get("next_page") if body.get("has_more") else None
        if not page:
            break
    return buckets


def spend_reading(ctx: ProbeContext, settings: AdminSettings, total: Decimal, events: list[UsageEvent]
                  ) -> ProbeReading:
    """Month-to-date spend as the ``monthly`` USD window (``monthly_budget_usd`` its limit) plus the usage events."""
    budget = settings.monthly_budget_usd
    out = SampleSet.of(ctx)
    out.add("monthly", Unit.USD, used=float(total), limit=budget,
            remaining=budget - float(total) if budget else None, resets_at=next_month(ctx.now), signed=True)
    reading = out.reading(month_to_date_usd=str(total.quantize(Decimal("0.0001"))), events=len(events))
    return ProbeReading(reading.samples, reading.outcome, reading.reason, usage=events, details=reading.details)
