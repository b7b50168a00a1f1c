"""Shared bits of the balance, subscription and local emulators (a leading ``_`` keeps it out of discovery)."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.responses import Response

from quotawarden.emulator.base import EmuRequest, json_response


def epoch_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def reset_of(req: EmuRequest, window: str, default: timedelta) -> datetime:
    return req.acct.resets.get(window) or req.now + default


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def error_envelope(kind: str, messages: dict[str, str], *, code_field: bool = False) -> Response:
    """``{"error": {"message", "code"?}}`` with the HTTP status of the fault kind (402/429/5xx...)."""
    status = {"insufficient_quota": 429, "402": 402}.get(kind) or (int(kind) if kind.isdigit() else 500)
    err: dict[str, object] = {"message": messages.get(kind, messages.get("default", "error"))}
    if code_field:
        err["code"] = status
    headers = {"retry-after": "7"} if status == 429 else None
    return json_response({"error": err}, status, headers)
