"""MiniMax Coding Plan ``/v1/api/openplatform/coding_plan/remains``. Windows ``5h`` and ``7d`` (prompt counts).

Faithful to the trap: ``current_*_usage_count`` carries the **remaining** count. ``extra["token_plan"]`` answers
the Token Plan row instead: model ``general``, every count 0, ``current_*_remaining_percent`` (of ``limits``).
Errors come as HTTP 200 with ``base_resp.status_code`` (1004 auth, 1002 rate limit, 1008 balance: MiniMax's
documented error codes)."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response
from quotawarden.emulator.providers._more import epoch_ms, reset_of

_CODES = {401: (1004, "login fail: Please carry the API secret key in the 'Authorization' field of the request header"),
          403: (1004, "login fail: token is not a coding plan key"), 429: (1002, "rate limit exceeded"),
          402: (1008, "insufficient balance")}


async def remains(req: EmuRequest) -> Response:
    a = req.acct
    end5, end7 = reset_of(req, "5h", timedelta(hours=4)), reset_of(req, "7d", timedelta(days=4))
    item = {"model_name": a.extra.get("model", "MiniMax-M2"),
            "start_time": epoch_ms(end5 - timedelta(hours=5)), "end_time": epoch_ms(end5),
            "remains_time": int((end5 - req.now).total_seconds() * 1000),
            "current_interval_total_count": int(a.limits.get("5h", 0)),
            "current_interval_usage_count": int(req.remaining("5h")),
            "weekly_start_time": epoch_ms(end7 - timedelta(days=7)), "weekly_end_time": epoch_ms(end7),
            "weekly_remains_time": int((end7 - req.now).total_seconds() * 1000),
            "current_weekly_total_count": int(a.limits.get("7d", 0)),
            "current_weekly_usage_count": int(req.remaining("7d"))}
    if a.extra.get("token_plan"):  # counts 0, a remaining percentage only (real answers: tests/providers/minimax)
        item.update({"model_name": a.extra.get("model", "general"), "current_interval_total_count": 0,
                     "current_interval_usage_count": 0, "current_weekly_total_count": 0,
                     "current_weekly_usage_count": 0, "current_interval_status": 1, "current_weekly_status": 1,
                     "current_interval_remaining_percent": round(100 * req.remaining("5h") / (a.limits["5h"] or 1)),
                     "current_weekly_remaining_percent": round(100 * req.remaining("7d") / (a.limits["7d"] or 1))})
    return json_response({"model_remains": [item], "base_resp": {"status_code": 0, "status_msg": "success"}})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    if status >= 500:
        return json_response({"base_resp": {"status_code": 1000, "status_msg": "unknown error"}}, status)
    code, msg = _CODES.get(status, (1000, "unknown error"))
    return json_response({"model_remains": None, "base_resp": {"status_code": code, "status_msg": msg}})


EMULATOR = EmulatedProvider(slug="minimax", error=error,
                            routes=[Route("GET", "/v1/api/openplatform/coding_plan/remains", remains)])
