"""Z.ai / Zhipu GLM Coding Plan: ``GET /api/monitor/usage/quota/limit`` (Observed, undocumented).

Body ``{code, msg, success, data:{planName?, level?, limits:[...]}}``; errors may arrive with HTTP 200, so
``success`` is checked. Each limit: ``type`` (``TOKENS_LIMIT``, ``TIME_LIMIT`` = MCP/tool calls,
``CREDIT_LIMIT``), ``unit`` (1 day, 3 hour, 5 minute, 6 week: CodexBar's mapping), ``number`` (window length in
units), ``percentage`` (0..100), ``nextResetTime`` (epoch ms); TIME_LIMIT and CREDIT_LIMIT also ``usage`` (cap),
``currentValue`` (used, may pass the cap) and ``remaining``. Windows are named by their length
(:func:`quotawarden.domain.window_name`: ``5h``, ``7d``) whatever their type, so ``hard_caps`` for ``zai/5h`` apply
to credit plans too; a CREDIT_LIMIT of the same length as a TOKENS_LIMIT in the same answer is ``<name>_credits``.
A credit window with counts is in credits (limit, used, remaining) with the stated percentage as its used ratio.
The plan is ``planName``, else ``level`` (``lite``, ``pro``), reported as the ``plan`` detail.
China: ``base_url = "https://open.bigmodel.cn"``.

Confirmed against real answers (CREDIT_LIMIT windows, ``level``): see tests/providers/zai/SOURCES.md.
Guessed: the TIME_LIMIT window's length (the unit mapping gives 1 minute, which is implausible for a tool-call
allowance; other monitors call it monthly), so it is stored as ``tools`` without a length.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Unit, window_name
from quotawarden.errors import MalformedResponse
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import (
    SampleSet,
    arr,
    bearer,
    check_status,
    epoch_ms,
    json_object,
    length_s,
    num,
    obj,
    opt_num,
    raise_for_code,
)
from quotawarden.redact import redact_text
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.z.ai"
_UNIT_S = {1: 86400, 3: 3600, 5: 60, 6: 7 * 86400}
_AUTH_CODES = {401, 1000, 1001, 1002, 1003}
_LIMIT_CODES = {429, 1113, 1302, 1303, 1304, 1305}
"""Guessed from Zhipu's public error list: 1113 arrears, 13xx rate and usage limits."""


class ZaiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization: str | None = None
    """Team plans: the ``Bigmodel-Organization`` id (adds ``?type=2``)."""
    project: str | None = None


def _limit(out: SampleSet, i: int, raw: Any) -> None:
    what = f"data.limits[{i}]"
    item = obj(raw, what)
    kind = str(item.get("type", ""))
    pct = num(item.get("percentage"), f"{what}.percentage")
    if not 0 <= pct <= 100:
        out.reject(kind.lower(), f"percentage {pct:g} is outside 0..100")
        return
    reset = epoch_ms(item["nextResetTime"], f"{what}.nextResetTime") if item.get("nextResetTime") else None
    cap, used = opt_num(item.get("usage"), f"{what}.usage"), opt_num(item.get("currentValue"), f"{what}.currentValue")
    left = opt_num(item.get("remaining"), f"{what}.remaining")
    if kind == "TIME_LIMIT":
        out.add("tools", Unit.REQUESTS, used_ratio=pct / 100, limit=cap, used=used, remaining=left, resets_at=reset)
        return
    unit_s = _UNIT_S.get(int(num(item.get("unit"), f"{what}.unit")))
    if unit_s is None:
        raise MalformedResponse(f"{what}: unknown unit {item.get('unit')!r}")
    length = length_s(item.get("number", 1), f"{what}.number", unit_s)
    name = window_name(length)
    if kind == "CREDIT_LIMIT" and any(s.window == name for s in out.samples):
        name += "_credits"  # a token window of the same length came first: keep both
    if kind == "CREDIT_LIMIT" and cap:
        out.add(name, Unit.CREDITS, used_ratio=pct / 100, limit=cap, used=used, remaining=left, resets_at=reset,
                length_s=length)
    else:
        out.add(name, Unit.PERCENT, used_ratio=pct / 100, resets_at=reset, length_s=length)


def parse_quota(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("success") is not True:
        code = body.get("code")
        raise_for_code(code, f"zai: error {str(code)[:12]}: {error_text_of(body)}", _AUTH_CODES, _LIMIT_CODES)
    data = obj(body.get("data"), "data")
    for i, raw in enumerate(arr(data.get("limits"), "data.limits")):
        _limit(out, i, raw)
    details: dict[str, Any] = {}
    plan = data.get("planName") or data.get("level")
    if plan:
        details["plan"] = str(plan)
    if data.get("level"):
        details["level"] = str(data["level"])
    return details


def error_text_of(body: dict[str, Any]) -> str:
    return redact_text(str(body.get("msg") or "no message")[:200])


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, ZaiSettings) else ZaiSettings()
    headers = bearer(ctx.secret, "zai")
    params: dict[str, str] = {}
    if settings.organization:
        headers["Bigmodel-Organization"] = settings.organization
        params["type"] = "2"
    if settings.project:
        headers["Bigmodel-Project"] = settings.project
    resp = yield HttpRequest("GET", ctx.url(BASE, "/api/monitor/usage/quota/limit"), headers=headers, params=params)
    check_status(resp, "zai", ctx.now)
    out = SampleSet.of(ctx)
    details = parse_quota(out, json_object(resp, "zai"))
    return out.reading(**details)


SPEC = ProviderSpec(
    slug="zai", display_name="Z.ai GLM Coding Plan", default_base_url=BASE,
    credential_env=("ZAI_API_KEY", "ZHIPU_API_KEY"), settings_model=ZaiSettings, probe=probe, kind="subscription",
    probe_cost="1 free GET /api/monitor/usage/quota/limit",
    docs="Token or credit windows (5h, 7d) as percent used (credits with counts), MCP/tool calls, plan level.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
