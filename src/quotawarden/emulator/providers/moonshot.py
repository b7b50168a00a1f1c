"""Moonshot balance and Kimi Code usage.

* ``moonshot``: window ``balance`` (``extra["voucher"]`` of it is voucher credit) ->
  ``{code: 0, data:{available_balance, voucher_balance, cash_balance}, scode, status}``.
* ``kimi``: windows ``7d`` (the overall ``usage``) and ``5h`` (one ``limits[]`` entry), counters as strings.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response
from quotawarden.emulator.providers._more import iso, reset_of


async def balance(req: EmuRequest) -> Response:
    left = round(req.remaining("balance"), 5)
    voucher = float(req.acct.extra.get("voucher", 0.0))
    return json_response({"code": 0, "data": {"available_balance": left, "voucher_balance": voucher,
                                              "cash_balance": round(left - voucher, 5)},
                          "scode": "0x0", "status": True})


def _detail(req: EmuRequest, window: str, default: timedelta) -> dict[str, str]:
    limit = req.acct.limits.get(window, 0.0)
    used = req.used(window)
    return {"limit": f"{limit:.0f}", "used": f"{used:.0f}", "remaining": f"{max(0.0, limit - used):.0f}",
            "resetTime": iso(reset_of(req, window, default))}


async def usages(req: EmuRequest) -> Response:
    body: dict[str, object] = {"usage": _detail(req, "7d", timedelta(days=7))}
    if "5h" in req.acct.limits:
        body["limits"] = [{"window": {"duration": 300, "timeUnit": "TIME_UNIT_MINUTE"},
                           "detail": _detail(req, "5h", timedelta(hours=5))}]
    return json_response(body)


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text = {401: "Invalid Authentication", 403: "permission denied",
            429: "Your account is over the rate limit"}.get(status, "server error")
    etype = {401: "invalid_authentication_error", 429: "rate_limit_reached_error"}.get(status, "server_error")
    return json_response({"error": {"message": text, "type": etype}}, status,
                         {"retry-after": "5"} if status == 429 else None)


EMULATOR = [
    EmulatedProvider(slug="moonshot", routes=[Route("GET", "/v1/users/me/balance", balance)], error=error),
    EmulatedProvider(slug="kimi", routes=[Route("GET", "/coding/v1/usages", usages)], error=error),
]
