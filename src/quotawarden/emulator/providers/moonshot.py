"""Moonshot balance and Kimi Code usage.

* ``moonshot``: window ``balance`` (``extra["voucher"]`` of it is voucher credit; used past it: arrears) ->
  ``{code: 0, data:{available_balance, voucher_balance, cash_balance}, scode, status}``.
* ``kimi``: windows ``7d`` (the overall ``usage``) and ``5h`` (one ``limits[]`` entry), counters as strings. With
  ``extra["shape"] = "2026-09"`` the current answer: counts without ``used`` and a ``usages`` map of ratios
  (``limit_5h``, ``limit_7d``, ``limit_month_total`` for windows ``5h``, ``7d``, ``monthly``).
"""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response
from quotawarden.emulator.providers._more import iso, reset_of


async def balance(req: EmuRequest) -> Response:
    """Voucher credit is spent first; spending past the balance (``extra["allow_over_limit"]``) leaves
    ``available_balance`` at 0 and a negative ``cash_balance`` (arrears), as a real account in arrears answers."""
    left = round(req.acct.limits.get("balance", 0.0) - req.used("balance"), 5)  # may go below 0
    voucher = min(float(req.acct.extra.get("voucher", 0.0)), max(left, 0.0))
    return json_response({"code": 0, "data": {"available_balance": max(left, 0.0), "voucher_balance": voucher,
                                              "cash_balance": round(left - voucher, 5)},
                          "scode": "0x0", "status": True})


_DEFAULTS = {"5h": timedelta(hours=5), "7d": timedelta(days=7), "monthly": timedelta(days=30)}
_RATIO_KEYS = {"5h": "limit_5h", "7d": "limit_7d", "monthly": "limit_month_total"}


def _detail(req: EmuRequest, window: str, default: timedelta, *, with_used: bool = True) -> dict[str, str]:
    limit = req.acct.limits.get(window, 0.0)
    used = req.used(window)
    out = {"limit": f"{limit:.0f}", "used": f"{used:.0f}", "remaining": f"{max(0.0, limit - used):.0f}",
           "resetTime": iso(reset_of(req, window, default))}
    if not with_used:  # the 2026-09 answers leave ``used`` out (real answers quoted in tests/providers/kimi)
        del out["used"]
    return out


async def usages(req: EmuRequest) -> Response:
    current = req.acct.extra.get("shape") == "2026-09"
    limits = req.acct.limits
    body: dict[str, object] = {}
    if "7d" in limits or not current:
        body["usage"] = _detail(req, "7d", _DEFAULTS["7d"], with_used=not current)
    if "5h" in limits:
        body["limits"] = [{"window": {"duration": 300, "timeUnit": "TIME_UNIT_MINUTE"},
                           "detail": _detail(req, "5h", _DEFAULTS["5h"], with_used=not current)}]
    if current:
        body["usages"] = {key: {"used_ratio": round(req.used(w) / (limits[w] or 1), 6),
                                "reset_time": iso(reset_of(req, w, _DEFAULTS[w]))}
                          for w, key in _RATIO_KEYS.items() if w in limits}
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
