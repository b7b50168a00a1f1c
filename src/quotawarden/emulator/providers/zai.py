"""Z.ai GLM Coding Plan ``/api/monitor/usage/quota/limit``. Windows: ``5h`` and ``7d`` (fractions 0..1,
answered as integer ``percentage``; with ``extra["credits"]`` as ``CREDIT_LIMIT`` entries whose ``limits`` are
credit counts, and ``extra["level"]`` as ``data.level`` in place of ``planName``) and ``tools`` (MCP calls, a
count). Errors keep the
``{code, msg, success: false}`` envelope; with ``extra["errors_as_200"]`` they arrive with HTTP 200, as
some clients observe (the error codes beyond 1001 are guesses)."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response
from quotawarden.emulator.providers._more import epoch_ms, reset_of

_CODES = {401: (1001, "Authorization Token missing or invalid"), 403: (1003, "No permission for this plan"),
          429: (1302, "Rate limit reached for requests")}


async def quota(req: EmuRequest) -> Response:
    a = req.acct
    limits: list[dict[str, object]] = []
    credits = bool(a.extra.get("credits"))
    for window, unit, number, default in (("5h", 3, 5, timedelta(hours=5)), ("7d", 6, 1, timedelta(days=7))):
        if window in a.limits:
            entry: dict[str, object] = {"type": "CREDIT_LIMIT" if credits else "TOKENS_LIMIT", "unit": unit,
                                        "number": number,
                                        "percentage": round(100 * req.used(window) / (a.limits[window] or 1)),
                                        "nextResetTime": epoch_ms(reset_of(req, window, default))}
            if credits:  # the credit plans' counts, as real Lite answers carry them
                cap, used = a.limits[window], req.used(window)
                entry.update({"usage": int(cap), "currentValue": int(used), "remaining": int(max(0.0, cap - used))})
            limits.append(entry)
    if "tools" in a.limits:
        cap, used = a.limits["tools"], req.used("tools")
        limits.append({"type": "TIME_LIMIT", "unit": 5, "number": 1, "usage": int(cap), "currentValue": int(used),
                       "remaining": int(cap - used), "percentage": round(100 * used / (cap or 1)),
                       "usageDetails": [{"modelCode": "search-prime", "usage": int(used)}]})
    data: dict[str, object] = {"limits": limits}
    if a.extra.get("level"):  # credit plans name the plan ``level`` and carry no ``planName``
        data["level"] = a.extra["level"]
    else:
        data["planName"] = a.extra.get("plan", "Pro")
    return json_response({"code": 200, "msg": "success", "success": True, "data": data})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    code, msg = _CODES.get(status, (500, "Internal error"))
    http = 200 if req.account is not None and req.acct.extra.get("errors_as_200") else status
    return json_response({"code": code, "msg": msg, "success": False}, http)


EMULATOR = EmulatedProvider(slug="zai", routes=[Route("GET", "/api/monitor/usage/quota/limit", quota)], error=error)
