"""Anthropic Admin API (``sk-ant-admin01-...``): organisation usage and cost reports -> usage events and spend.

``GET /v1/organizations/cost_report`` (amounts are **cents as decimal strings**: ``"123.45"`` = $1.2345) and
``/v1/organizations/usage_report/messages`` (tokens by model), daily buckets from the start of the month,
following ``next_page`` while ``has_more``. Month-to-date spend becomes the ``monthly`` window (USD; with
``monthly_budget_usd`` as its limit); every result becomes a ``UsageEvent`` with a stable dedup key, so
probing twice stores each bucket once.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Source, Unit, UsageEvent
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, arr, check_status, json_object, money, num, obj, parse_time
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.anthropic.com"
MAX_PAGES = 50


class AdminSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    monthly_budget_usd: float | None = None
    usage: bool = True
    """Also fetch token usage by model (one more request per page)."""


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(now: datetime) -> datetime:
    start = month_start(now)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pages(ctx: ProbeContext, path: str, params: dict[str, str], what: str
          ) -> Generator[HttpRequest, HttpResponse, list[dict[str, Any]]]:
    assert ctx.secret is not None
    headers = {"x-api-key": ctx.secret, "anthropic-version": "2023-06-01"}
    buckets: list[dict[str, Any]] = []
    page: str | None = None
    for _ in range(MAX_PAGES):
        query = dict(params, **({"page": page} if page else {}))
        resp = yield HttpRequest("GET", ctx.url(BASE, path), headers=headers, params=query,
                                 purpose="page" if page else "probe")
        check_status(resp, what, ctx.now)
        body = json_object(resp, what)
        buckets += [obj(b, f"{what}.data[]") for b in arr(body.get("data"), f"{what}.data")]
        page = body.get("next_page") if body.get("has_more") else None
        if not page:
            break
    return buckets


def cost_events(account_id: str, buckets: list[dict[str, Any]]) -> tuple[list[UsageEvent], Decimal]:
    events, total = [], Decimal(0)
    for b in buckets:
        start = parse_time(b.get("starting_at"), "starting_at")
        for i, r in enumerate(arr(b.get("results"), "results")):
            r = obj(r, "results[]")
            usd = money(r.get("amount"), "amount") / 100
            total += usd
            key = ":".join(str(r.get(k) or "") for k in ("workspace_id", "description", "model", "token_type",
                                                         "cost_type"))
            events.append(UsageEvent(ts=start, provider="anthropic", model=str(r.get("model") or ""),
                                     source=Source.ADMIN, account_id=account_id, cost=usd,
                                     dedup_key=f"anthropic_admin:{account_id}:cost:{start.isoformat()}:{key}:{i}",
                                     project=r.get("workspace_id")))
    return events, total


def usage_events(account_id: str, buckets: list[dict[str, Any]]) -> list[UsageEvent]:
    events = []
    for b in buckets:
        start = parse_time(b.get("starting_at"), "starting_at")
        for r in arr(b.get("results"), "results"):
            r = obj(r, "results[]")
            cache = r.get("cache_creation") or {}
            h1 = int(num(cache.get("ephemeral_1h_input_tokens", 0), "ephemeral_1h_input_tokens"))
            m5 = int(num(cache.get("ephemeral_5m_input_tokens", 0), "ephemeral_5m_input_tokens"))
            key = ":".join(str(r.get(k) or "") for k in ("model", "workspace_id", "api_key_id", "service_tier"))
            events.append(UsageEvent(
                ts=start, provider="anthropic", model=str(r.get("model") or ""), source=Source.ADMIN,
                account_id=account_id, dedup_key=f"anthropic_admin:{account_id}:usage:{start.isoformat()}:{key}",
                input_tokens=int(num(r.get("uncached_input_tokens", 0), "uncached_input_tokens")),
                output_tokens=int(num(r.get("output_tokens", 0), "output_tokens")),
                cache_read_tokens=int(num(r.get("cache_read_input_tokens", 0), "cache_read_input_tokens")),
                cache_write_tokens=m5 + h1, cache_write_1h_tokens=h1, project=r.get("workspace_id")))
    return events


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, AdminSettings) else AdminSettings()
    if not ctx.secret:
        raise CredentialError("anthropic_admin: no Admin API key configured")
    span = {"starting_at": _rfc3339(month_start(ctx.now)), "ending_at": _rfc3339(ctx.now), "bucket_width": "1d",
            "limit": "31"}
    costs = yield from pages(ctx, "/v1/organizations/cost_report", {**span, "group_by[]": "description"},
                             "anthropic_admin cost_report")
    events, total = cost_events(ctx.account.id, costs)
    if settings.usage:
        usage = yield from pages(ctx, "/v1/organizations/usage_report/messages", {**span, "group_by[]": "model"},
                                 "anthropic_admin usage_report")
        events += usage_events(ctx.account.id, usage)
    out = SampleSet.of(ctx)
    out.add("monthly", Unit.USD, used=float(total), limit=settings.monthly_budget_usd,
            remaining=settings.monthly_budget_usd - float(total) if settings.monthly_budget_usd else None,
            resets_at=next_month(ctx.now), signed=True)
    reading = out.reading(month_to_date_usd=str(total.quantize(Decimal("0.0001"))), events=len(events))
    return ProbeReading(reading.samples, reading.outcome, reading.reason, usage=events, details=reading.details)


SPEC = ProviderSpec(
    slug="anthropic_admin", display_name="Anthropic Admin API", default_base_url=BASE,
    credential_env=("ANTHROPIC_ADMIN_KEY",), settings_model=AdminSettings, probe=probe, kind="admin",
    probe_cost="free GETs: cost_report + usage_report, 1 per page (31 days per page)",
    docs="Month-to-date spend in USD (cost report, cents strings), daily token usage by model as usage events.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
