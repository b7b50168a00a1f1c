"""Organisation usage and cost reports: Anthropic (``anthropic_admin``) and OpenAI (``openai_admin``).

Daily buckets between the requested start and end (capped at the emulator's now), ``limit`` buckets per page,
``next_page`` while ``has_more``. ``extra``: ``daily_usd`` (spend per day, default 12.0) and ``model``.
Anthropic amounts are cents as decimal strings; OpenAI amounts are dollar floats.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response, openai_error
from quotawarden.emulator.providers.anthropic import anthropic_error

DAY = timedelta(days=1)


def _days(req: EmuRequest, start: datetime, end: datetime | None, limit: int) -> tuple[list[datetime], str | None]:
    page = req.request.query_params.get("page")
    if page:
        start = datetime.fromisoformat(base64.urlsafe_b64decode(page.removeprefix("page_")).decode())
    end = min(end or req.now, req.now)
    start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days: list[datetime] = []
    while start < end and len(days) < limit:
        days.append(start)
        start += DAY
    more = start < end
    token = "page_" + base64.urlsafe_b64encode(start.isoformat().encode()).decode() if more else None
    return days, token


def _share(req: EmuRequest) -> tuple[float, str]:
    return float(req.acct.extra.get("daily_usd", 12.0)), str(req.acct.extra.get("model", "claude-sonnet-4-5"))


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _anthropic_span(req: EmuRequest) -> tuple[list[datetime], str | None] | Response:
    q = req.request.query_params
    try:
        start = datetime.fromisoformat(q["starting_at"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(q["ending_at"].replace("Z", "+00:00")) if q.get("ending_at") else None
    except (KeyError, ValueError):
        return anthropic_error("400", "starting_at: field required (RFC 3339)")
    return _days(req, start, end, min(int(q.get("limit", 7)), 31))


async def anthropic_cost(req: EmuRequest) -> Response:
    span = _anthropic_span(req)
    if isinstance(span, Response):
        return span
    days, token = span
    usd, model = _share(req)
    data = [{"starting_at": _iso(d), "ending_at": _iso(d + DAY), "results": [
        {"currency": "USD", "amount": f"{usd * 100 * share:.4f}", "workspace_id": None, "description": desc,
         "cost_type": "tokens", "context_window": "0-200k", "model": model, "service_tier": "standard",
         "token_type": tt, "inference_geo": None}
        for desc, tt, share in (("Input Tokens", "uncached_input_tokens", 0.4),
                                ("Output Tokens", "output_tokens", 0.6))]} for d in days]
    return json_response({"data": data, "has_more": token is not None, "next_page": token})


async def anthropic_usage(req: EmuRequest) -> Response:
    span = _anthropic_span(req)
    if isinstance(span, Response):
        return span
    days, token = span
    usd, model = _share(req)
    data = [{"starting_at": _iso(d), "ending_at": _iso(d + DAY), "results": [{
        "uncached_input_tokens": int(usd * 0.4 / 3 * 1e6),
        "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
        "cache_read_input_tokens": 0, "output_tokens": int(usd * 0.6 / 15 * 1e6),
        "server_tool_use": {"web_search_requests": 0}, "api_key_id": None, "workspace_id": None, "model": model,
        "service_tier": None, "context_window": None}]} for d in days]
    return json_response({"data": data, "has_more": token is not None, "next_page": token})


def _openai_span(req: EmuRequest) -> tuple[list[datetime], str | None] | Response:
    q = req.request.query_params
    try:
        start = datetime.fromtimestamp(int(q["start_time"]), UTC)
        end = datetime.fromtimestamp(int(q["end_time"]), UTC) if q.get("end_time") else None
    except (KeyError, ValueError):
        return openai_error("400", "start_time is required")
    return _days(req, start, end, min(int(q.get("limit", 7)), 31))


def _openai_page(days: list[datetime], token: str | None, results: Callable[[datetime], list[Any]]) -> Response:
    return json_response({"object": "page", "data": [
        {"object": "bucket", "start_time": int(d.timestamp()), "end_time": int((d + DAY).timestamp()),
         "results": results(d)} for d in days], "has_more": token is not None, "next_page": token})


async def openai_costs(req: EmuRequest) -> Response:
    span = _openai_span(req)
    if isinstance(span, Response):
        return span
    usd, _ = _share(req)
    model = str(req.acct.extra.get("model", "gpt-4.1-mini-2025-04-14"))
    return _openai_page(*span, lambda d: [
        {"object": "organization.costs.result", "amount": {"value": round(usd * share, 6), "currency": "usd"},
         "line_item": f"{model}, {part}", "project_id": None, "api_key_id": None, "quantity": None}
        for part, share in (("input", 0.4), ("output", 0.6))])


async def openai_usage(req: EmuRequest) -> Response:
    span = _openai_span(req)
    if isinstance(span, Response):
        return span
    usd, _ = _share(req)
    model = str(req.acct.extra.get("model", "gpt-4.1-mini-2025-04-14"))
    return _openai_page(*span, lambda d: [{
        "object": "organization.usage.completions.result", "input_tokens": int(usd * 0.4 / 0.4 * 1e6),
        "output_tokens": int(usd * 0.6 / 1.6 * 1e6), "input_cached_tokens": 0, "input_audio_tokens": 0,
        "output_audio_tokens": 0, "num_model_requests": 100, "project_id": None, "user_id": None,
        "api_key_id": None, "model": model, "batch": None, "service_tier": None}])


EMULATOR = [
    EmulatedProvider(slug="anthropic_admin", routes=[
        Route("GET", "/v1/organizations/cost_report", anthropic_cost),
        Route("GET", "/v1/organizations/usage_report/messages", anthropic_usage)],
        error=lambda req, kind: anthropic_error(kind), credential_hint=r"^sk-ant-admin"),
    EmulatedProvider(slug="openai_admin", routes=[
        Route("GET", "/v1/organization/costs", openai_costs),
        Route("GET", "/v1/organization/usage/completions", openai_usage)],
        error=lambda req, kind: openai_error(kind), credential_hint=r"^sk-admin-"),
]
