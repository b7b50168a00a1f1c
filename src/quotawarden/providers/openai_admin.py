"""OpenAI Admin API (``sk-admin-...``): organisation costs and completions usage -> usage events and spend.

``GET /v1/organization/costs`` (``amount.value`` in **dollars, a float**, sometimes a numeric string) and
``/v1/organization/usage/completions`` (``input_tokens`` includes cached tokens), daily buckets from the start
of the month, following ``next_page`` while ``has_more``. Month-to-date spend is the ``monthly`` window (USD).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime
from decimal import Decimal
from typing import Any

from quotawarden.domain import Source, UsageEvent
from quotawarden.plugins import hookimpl
from quotawarden.providers._admin_reports import AdminSettings, month_start, pages, settings_of, spend_reading
from quotawarden.providers._quota import arr, money, num, obj, parse_time
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.openai.com"


def _start(bucket: dict[str, Any]) -> datetime:
    return parse_time(num(bucket.get("start_time"), "start_time"), "start_time")


def cost_events(account_id: str, buckets: list[dict[str, Any]]) -> tuple[list[UsageEvent], Decimal]:
    events, total = [], Decimal(0)
    for b in buckets:
        start = _start(b)
        for i, r in enumerate(arr(b.get("results"), "results")):
            r = obj(r, "results[]")
            usd = money(obj(r.get("amount"), "amount").get("value"), "amount.value")
            total += usd
            item = str(r.get("line_item") or "")
            events.append(UsageEvent(ts=start, provider="openai", model=item.split(",", 1)[0] if "," in item else "",
                                     source=Source.ADMIN, account_id=account_id, cost=usd, project=r.get("project_id"),
                                     dedup_key=f"openai_admin:{account_id}:cost:{int(start.timestamp())}:"
                                               f"{r.get('project_id') or ''}:{item}:{i}"))
    return events, total


def usage_events(account_id: str, buckets: list[dict[str, Any]]) -> list[UsageEvent]:
    events = []
    for b in buckets:
        start = _start(b)
        for r in arr(b.get("results"), "results"):
            r = obj(r, "results[]")
            total_in = int(num(r.get("input_tokens", 0), "input_tokens"))
            cached = int(num(r.get("input_cached_tokens", 0), "input_cached_tokens"))
            key = ":".join(str(r.get(k) or "") for k in ("model", "project_id", "api_key_id", "batch"))
            events.append(UsageEvent(
                ts=start, provider="openai", model=str(r.get("model") or ""), source=Source.ADMIN,
                account_id=account_id, project=r.get("project_id"),
                dedup_key=f"openai_admin:{account_id}:usage:{int(start.timestamp())}:{key}",
                input_tokens=max(total_in - cached, 0), cache_read_tokens=cached,
                output_tokens=int(num(r.get("output_tokens", 0), "output_tokens"))))
    return events


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings, secret = settings_of(ctx, "openai_admin")
    headers = {"Authorization": f"Bearer {secret}"}
    span = {"start_time": str(int(month_start(ctx.now).timestamp())), "end_time": str(int(ctx.now.timestamp())),
            "bucket_width": "1d", "limit": "31"}
    costs = yield from pages(ctx, ctx.url(BASE, "/v1/organization/costs"), headers, {**span, "group_by": "line_item"},
                             "openai_admin costs")
    events, total = cost_events(ctx.account.id, costs)
    if settings.usage:
        usage = yield from pages(ctx, ctx.url(BASE, "/v1/organization/usage/completions"), headers,
                                 {**span, "group_by": "model"}, "openai_admin usage")
        events += usage_events(ctx.account.id, usage)
    return spend_reading(ctx, settings, total, events)


SPEC = ProviderSpec(
    slug="openai_admin", display_name="OpenAI Admin API", default_base_url=BASE,
    credential_env=("OPENAI_ADMIN_KEY",), settings_model=AdminSettings, probe=probe, kind="admin",
    probe_cost="free GETs: costs + usage/completions, 1 per page (31 days per page)",
    docs="Month-to-date spend in USD (costs, dollar floats), daily token usage by model as usage events.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
