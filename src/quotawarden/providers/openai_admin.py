"""OpenAI Admin API (``sk-admin-...``): organisation costs and completions usage -> usage events and spend.

``GET /v1/organization/costs`` (``amount.value`` in **dollars, a float**, sometimes a numeric string) and
``/v1/organization/usage/completions`` (``input_tokens`` includes cached tokens), daily buckets from the start
of the month, following ``next_page`` while ``has_more``. Month-to-date spend is the ``monthly`` window (USD).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from quotawarden.domain import Source, Unit, UsageEvent
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, arr, check_status, json_object, money, num, obj
from quotawarden.providers.anthropic_admin import AdminSettings, month_start, next_month
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.openai.com"
MAX_PAGES = 50


def pages(ctx: ProbeContext, path: str, params: dict[str, str], what: str
          ) -> Generator[HttpRequest, HttpResponse, list[dict[str, Any]]]:
    headers = {"Authorization": f"Bearer {ctx.secret}"}
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


def _start(bucket: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(num(bucket.get("start_time"), "start_time"), UTC)


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
    settings = ctx.settings if isinstance(ctx.settings, AdminSettings) else AdminSettings()
    if not ctx.secret:
        raise CredentialError("openai_admin: no Admin API key configured")
    span = {"start_time": str(int(month_start(ctx.now).timestamp())), "end_time": str(int(ctx.now.timestamp())),
            "bucket_width": "1d", "limit": "31"}
    costs = yield from pages(ctx, "/v1/organization/costs", {**span, "group_by": "line_item"}, "openai_admin costs")
    events, total = cost_events(ctx.account.id, costs)
    if settings.usage:
        usage = yield from pages(ctx, "/v1/organization/usage/completions", {**span, "group_by": "model"},
                                 "openai_admin usage")
        events += usage_events(ctx.account.id, usage)
    out = SampleSet.of(ctx)
    out.add("monthly", Unit.USD, used=float(total), limit=settings.monthly_budget_usd,
            remaining=settings.monthly_budget_usd - float(total) if settings.monthly_budget_usd else None,
            resets_at=next_month(ctx.now), signed=True)
    reading = out.reading(month_to_date_usd=str(total.quantize(Decimal("0.0001"))), events=len(events))
    return ProbeReading(reading.samples, reading.outcome, reading.reason, usage=events, details=reading.details)


SPEC = ProviderSpec(
    slug="openai_admin", display_name="OpenAI Admin API", default_base_url=BASE,
    credential_env=("OPENAI_ADMIN_KEY",), settings_model=AdminSettings, probe=probe, kind="admin",
    probe_cost="free GETs: costs + usage/completions, 1 per page (31 days per page)",
    docs="Month-to-date spend in USD (costs, dollar floats), daily token usage by model as usage events.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
