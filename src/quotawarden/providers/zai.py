"""Z.ai / Zhipu GLM Coding Plan: ``GET /api/monitor/usage/quota/limit`` (Observed, undocumented).

Body ``{code, msg, success, data:{planName?, limits:[...]}}``; errors may arrive with HTTP 200, so ``success``
is checked. Each limit: ``type`` (``TOKENS_LIMIT``, ``TIME_LIMIT`` = MCP/tool calls, ``CREDIT_LIMIT``),
``unit`` (1 day, 3 hour, 5 minute, 6 week: CodexBar's mapping), ``number`` (window length in units),
``percentage`` (0..100), ``nextResetTime`` (epoch ms); TIME_LIMIT also ``usage`` (cap), ``currentValue``,
``remaining``. Token windows are named by length (``5h``, ``7d``). China: ``base_url = "https://open.bigmodel.cn"``.

Guessed: the TIME_LIMIT window's length (the unit mapping gives 1 minute, which is implausible for a tool-call
allowance), so it is stored as ``tools`` without a length.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Unit
from quotawarden.errors import MalformedResponse
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
    window_name,
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
    if kind == "TIME_LIMIT":
        out.add("tools", Unit.REQUESTS, used_ratio=pct / 100, limit=opt_num(item.get("usage"), f"{what}.usage"),
                used=opt_num(item.get("currentValue"), f"{what}.currentValue"),
                remaining=opt_num(item.get("remaining"), f"{what}.remaining"), resets_at=reset)
        return
    unit_s = _UNIT_S.get(int(num(item.get("unit"), f"{what}.unit")))
    if unit_s is None:
        raise MalformedResponse(f"{what}: unknown unit {item.get('unit')!r}")
    length = int(num(item.get("number", 1), f"{what}.number") * unit_s)
    name = window_name(length) if kind == "TOKENS_LIMIT" else f"credits_{window_name(length)}"
    out.add(name, Unit.PERCENT, used_ratio=pct / 100, resets_at=reset, length_s=length)


def parse_quota(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("success") is not True:
        code = body.get("code")
        raise_for_code(code, f"zai: error {str(code)[:12]}: {error_text_of(body)}", _AUTH_CODES, _LIMIT_CODES)
    data = obj(body.get("data"), "data")
    for i, raw in enumerate(arr(data.get("limits"), "data.limits")):
        _limit(out, i, raw)
    return {"plan": data["planName"]} if data.get("planName") else {}


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
    docs="Token windows (5h, weekly) as percent used, MCP/tool calls with cap and remaining.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
