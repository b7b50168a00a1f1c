"""Cline account: ``/api/v1/users/me``, ``/api/v1/users/{id}/balance``, ``/api/v1/organizations/{id}/balance``.

Windows (credits): ``credits`` (personal) and, with ``extra["organization"]`` (a name), ``org_credits`` of that
active organization. Balances are sent in micro-credits (credits x 10000), every answer wrapped in
``{success, data}`` as Cline's API does."""

from __future__ import annotations

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response


def _ok(data: object) -> Response:
    return json_response({"success": True, "data": data})


def _user(req: EmuRequest) -> str:
    return f"usr_{req.acct.id}"


async def me(req: EmuRequest) -> Response:
    orgs = []
    if name := req.acct.extra.get("organization"):
        orgs.append({"active": True, "memberId": "mem_1", "name": name, "organizationId": "org_1",
                     "roles": ["member"]})
    return _ok({"id": _user(req), "email": f"{req.acct.id}@example.com", "displayName": req.acct.id,
                "photoUrl": "", "createdAt": "2026-01-05T10:00:00Z", "updatedAt": "2026-08-01T10:00:00Z",
                "organizations": orgs})


def _micro(req: EmuRequest, window: str) -> int:
    return round((req.acct.limits.get(window, 0.0) - req.used(window)) * 10000)


async def balance(req: EmuRequest) -> Response:
    if req.params.get("user") != _user(req):
        return json_response({"success": False, "error": "Forbidden"}, 403)
    return _ok({"balance": _micro(req, "credits"), "userId": _user(req)})


async def org_balance(req: EmuRequest) -> Response:
    return _ok({"balance": _micro(req, "org_credits"), "organizationId": req.params.get("org")})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text = {401: "Unauthorized: Please sign in to Cline before trying again.", 403: "Forbidden",
            429: "Too many requests"}.get(status, "Internal server error")
    return json_response({"success": False, "error": text}, status, {"retry-after": "3"} if status == 429 else None)


EMULATOR = EmulatedProvider(slug="cline_account", error=error, routes=[
    Route("GET", "/api/v1/users/me", me), Route("GET", "/api/v1/users/{user}/balance", balance),
    Route("GET", "/api/v1/organizations/{org}/balance", org_balance)])
