"""DeepSeek ``/user/balance``. Windows: ``balance`` (in ``extra["currency"]``, default USD) and optionally
``balance_cny``/``balance_usd`` for a second currency; balances are decimal strings."""

from __future__ import annotations

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

_ERRORS = {401: ("Authentication Fails, Your api key: ****emu0 is invalid", "authentication_error"),
           402: ("Insufficient Balance", "unknown_error"), 403: ("Permission denied", "permission_error"),
           429: ("Rate Limit Reached", "rate_limit_error")}


async def balance(req: EmuRequest) -> Response:
    infos = []
    for window in sorted(w for w in req.acct.limits if w.startswith("balance")):
        currency = window.partition("_")[2].upper() or str(req.acct.extra.get("currency", "USD"))
        left = f"{req.remaining(window):.2f}"
        infos.append({"currency": currency, "total_balance": left, "granted_balance": "0.00",
                      "topped_up_balance": left})
    return json_response({"is_available": any(float(i["total_balance"]) > 0 for i in infos),
                          "balance_infos": infos})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text, etype = _ERRORS.get(status, ("Server error", "server_error"))
    return json_response({"error": {"message": text, "type": etype, "param": None, "code": "invalid_request_error"}},
                         status)


EMULATOR = EmulatedProvider(slug="deepseek", routes=[Route("GET", "/user/balance", balance)], error=error)
