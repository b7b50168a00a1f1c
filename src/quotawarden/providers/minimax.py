"""MiniMax Coding Plan: ``GET /v1/api/openplatform/coding_plan/remains[?GroupId=]`` (Observed).

``model_remains[]`` per model: the 5-hour interval (``start_time``/``end_time`` epoch ms, ``remains_time`` ms
until reset, ``current_interval_total_count``, ``current_interval_usage_count``) and the week
(``weekly_*``, ``current_weekly_*``); newer bodies add ``current_*_remaining_percent``. Errors may be HTTP 200
with ``base_resp.status_code != 0``.

Token Plan (since 2026-06): rows ``general``/``video`` whose ``*_total_count`` and ``*_usage_count`` are 0 and
whose only number is ``current_*_remaining_percent``: such a window is a percentage (unit percent, used ratio =
1 - percent/100, reset) with no limit or remaining count. Confirmed against real answers, see
tests/providers/minimax/SOURCES.md; a row with neither a count nor a percentage is skipped.

**Trap:** despite its name ``current_interval_usage_count`` is the **remaining** count (CodexBar and
quota-sentinel agree): used = total - usage_count. Window length comes from ``end - start``; the reset is
``end_time`` (absolute), else ``now + remains_time``. Windows of a second model are suffixed ``:<model>``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Unit, window_name
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import (
    SampleSet,
    arr,
    bearer,
    check_status,
    epoch_ms,
    json_object,
    num,
    obj,
    opt_num,
    raise_for_code,
)
from quotawarden.redact import redact_text
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.minimax.io"
_AUTH_CODES = {1004, 2049}
_LIMIT_CODES = {1002, 1008, 1039}
"""MiniMax's documented codes: 1002 rate limit, 1008 insufficient balance, 1039 token limit."""
# (prefix of the count fields, start, end, remains, percent field)
_WINDOWS = (("current_interval", "start_time", "end_time", "remains_time", "current_interval_remaining_percent"),
            ("current_weekly", "weekly_start_time", "weekly_end_time", "weekly_remains_time",
             "current_weekly_remaining_percent"))


class MiniMaxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_id: str | None = None


def _window(out: SampleSet, item: dict[str, Any], what: str, suffix: str, fields: tuple[str, ...]) -> None:
    prefix, start_f, end_f, remains_f, pct_f = fields
    total = opt_num(item.get(f"{prefix}_total_count"), f"{what}.{prefix}_total_count")
    pct = opt_num(item.get(pct_f), f"{what}.{pct_f}")
    if not total and pct is None:
        return  # no count and no percentage: a placeholder row, not a window
    end = epoch_ms(item[end_f], f"{what}.{end_f}") if item.get(end_f) else None
    start = epoch_ms(item[start_f], f"{what}.{start_f}") if item.get(start_f) else None
    if end is None and item.get(remains_f) is not None:
        end = out.now + timedelta(milliseconds=num(item[remains_f], f"{what}.{remains_f}"))
    length = int((end - start).total_seconds()) if start and end and end > start else None
    name = window_name(length) if length else ("5h" if prefix == "current_interval" else "7d")
    ratio = None
    if pct is not None:
        if not 0 <= pct <= 100:
            out.reject(name + suffix, f"{pct_f} {pct:g} is outside 0..100")
            return
        ratio = 1 - pct / 100
    if not total:  # Token Plan: a percentage only (the counts are 0); no limit or remaining is known
        out.add(name + suffix, Unit.PERCENT, used_ratio=ratio, resets_at=end, length_s=length)
        return
    left = num(item.get(f"{prefix}_usage_count"), f"{what}.{prefix}_usage_count")  # remaining, see module doc
    out.add(name + suffix, Unit.REQUESTS, limit=total, remaining=left, used=total - left if left <= total else None,
            used_ratio=ratio, resets_at=end, length_s=length)


def parse_remains(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    base = obj(body.get("base_resp") or {}, "base_resp")
    code = base.get("status_code", 0)
    if code not in (0, "0"):
        reason = f"minimax: error {str(code)[:12]}: {redact_text(str(base.get('status_msg', ''))[:200])}"
        raise_for_code(code, reason, _AUTH_CODES, _LIMIT_CODES)
    models = arr(body.get("model_remains"), "model_remains")
    for i, raw in enumerate(models):
        item = obj(raw, f"model_remains[{i}]")
        suffix = f":{item.get('model_name', i)}" if i else ""
        for fields in _WINDOWS:
            _window(out, item, f"model_remains[{i}]", suffix, fields)
    details: dict[str, Any] = {"models": [str(obj(m, "model").get("model_name", "")) for m in models]}
    for key in ("current_subscribe_title", "points_balance"):
        if key in body:
            details[key] = body[key]
    return details


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, MiniMaxSettings) else MiniMaxSettings()
    params = {"GroupId": settings.group_id} if settings.group_id else {}
    resp = yield HttpRequest("GET", ctx.url(BASE, "/v1/api/openplatform/coding_plan/remains"),
                             headers=bearer(ctx.secret, "minimax"), params=params)
    check_status(resp, "minimax", ctx.now)
    out = SampleSet.of(ctx)
    details = parse_remains(out, json_object(resp, "minimax"))
    return out.reading(**details)


SPEC = ProviderSpec(
    slug="minimax", display_name="MiniMax Coding Plan", default_base_url=BASE,
    credential_env=("MINIMAX_API_KEY",), settings_model=MiniMaxSettings, probe=probe, kind="subscription",
    probe_cost="1 free GET /v1/api/openplatform/coding_plan/remains",
    docs="Prompts per 5-hour interval and per week, per model (used = total - 'usage' count, which is remaining); "
         "Token Plan rows as percent used.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
