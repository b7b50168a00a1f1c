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

from quotawarden.domain import Source, UsageEvent
from quotawarden.plugins import hookimpl
from quotawarden.providers._admin_reports import AdminSettings, month_start, pages, settings_of, spend_reading
from quotawarden.providers._quota import arr, money, num, obj, parse_time
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.anthropic.com"


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    settings, secret = settings_of(ctx, "anthropic_admin")
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    span = {"starting_at": _rfc3339(month_start(ctx.now)), "ending_at": _rfc3339(ctx.now), "bucket_width": "1d",
            "limit": "31"}
    costs = yield from pages(ctx, ctx.url(BASE, "/v1/organizations/cost_report"), headers,
                             {**span, "group_by[]": "description"}, "anthropic_admin cost_report")
    events, total = cost_events(ctx.account.id, costs)
    if settings.usage:
        usage = yield from pages(ctx, ctx.url(BASE, "/v1/organizations/usage_report/messages"), headers,
                                 {**span, "group_by[]": "model"}, "anthropic_admin usage_report")
        events += usage_events(ctx.account.id, usage)
    return spend_reading(ctx, settings, total, events)


SPEC = ProviderSpec(
    dialect="anthropic",
    slug="anthropic_admin", display_name="Anthropic Admin API", default_base_url=BASE,
    credential_env=("ANTHROPIC_ADMIN_KEY",), settings_model=AdminSettings, probe=probe, kind="admin",
    probe_cost="free GETs: cost_report + usage_report, 1 per page (31 days per page)",
    docs="Month-to-date spend in USD (cost report, cents strings), daily token usage by model as usage events.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
