"""ChatGPT plan usage for Codex: ``GET /backend-api/wham/usage`` (Bearer access token + ChatGPT-Account-Id).

Windows (``EmuAccount.limits``, percent, limit 100): ``5h`` and ``7d``. ``extra``: ``plan_type``,
``account_id`` (when set, a different ``ChatGPT-Account-Id`` is refused), ``weekly_primary`` (primary is the
weekly window and there is no 5-hour one, as seen on some Plus accounts), ``credits`` (a balance string).

Guessed (UNCONFIRMED): the error body, ``{"detail": ...}``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

LENGTH = {"5h": 18000, "7d": 604800}


def _window(req: EmuRequest, name: str) -> dict[str, Any]:
    reset = req.acct.resets.get(name) or req.now + timedelta(seconds=LENGTH[name])
    return {"used_percent": round(req.used(name)), "limit_window_seconds": LENGTH[name],
            "reset_after_seconds": max(0, int((reset - req.now).total_seconds())), "reset_at": int(reset.timestamp())}


async def usage(req: EmuRequest) -> Response:
    expected = req.acct.extra.get("account_id")
    if expected and req.request.headers.get("chatgpt-account-id") != expected:
        return error(req, "403")
    windows = [w for w in ("5h", "7d") if w in req.acct.limits]
    if req.acct.extra.get("weekly_primary"):
        primary, secondary = (_window(req, "7d") if "7d" in windows else None), None
    else:
        primary = _window(req, windows[0]) if windows else None
        secondary = _window(req, windows[1]) if len(windows) > 1 else None
    reached = any(req.used(w) >= 100 for w in windows)
    balance = req.acct.extra.get("credits")
    return json_response({
        "plan_type": req.acct.extra.get("plan_type", "plus"),
        "rate_limit": {"allowed": not reached, "limit_reached": reached, "primary_window": primary,
                       "secondary_window": secondary},
        "credits": {"has_credits": balance is not None, "unlimited": False, "balance": str(balance or "0")},
        "additional_rate_limits": [],
    })


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text = {401: "Could not validate your credentials", 403: "Forbidden", 429: "Too many requests"}
    headers = {"retry-after": "60"} if status == 429 else None
    return json_response({"detail": text.get(status, "Internal server error")}, status, headers)


EMULATOR = EmulatedProvider(slug="codex", routes=[Route("GET", "/backend-api/wham/usage", usage)], error=error,
                            credential_hint=r"^eyJ")
