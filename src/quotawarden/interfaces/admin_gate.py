"""The admin token as a request shows it, read from the raw ASGI scope, and the rule for ``/proxy``: without FastAPI.

The API's guard (``interfaces.api.guard``) applies them to every path its routers do not own; ``serve``'s front
(``interfaces.daemon.front``) sends ``/proxy`` to the proxy before the API is built (often it never is), through
the same rule.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NEEDS_TOKEN = "this page needs the admin token"


def headers_of(scope: Scope) -> dict[str, str]:
    """The request's headers, names in lower case, values decoded as Starlette decodes them."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def supplied_token(headers: dict[str, str], query: str) -> str | None:
    """The admin token as a client may send it: ``Authorization: Bearer``, the ``qw_admin`` cookie, ``?token=``
    (a browser's first visit) or ``X-Admin-Token``."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "qw_admin":
            return value
    tokens = parse_qs(query).get("token")
    return (tokens[0] if tokens else None) or headers.get("x-admin-token")


def token_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))


def authorized(scope: Scope, admin_token: str | None, headers: dict[str, str] | None = None) -> bool:
    """Whether the request shows the admin token (any way :func:`supplied_token` reads)."""
    given = supplied_token(headers_of(scope) if headers is None else headers,
                           scope.get("query_string", b"").decode("latin-1"))
    return token_ok(admin_token, given)


def proxy_allowed(scope: Scope, admin_token: str | None, pages_public: bool) -> bool:
    """``/proxy`` keeps the proxy's own rules (client tokens or the caller's provider key) where the pages are
    public (loopback, no token configured) or there is no admin token; elsewhere it needs the admin token too."""
    return pages_public or not admin_token or authorized(scope, admin_token)


def guard_proxy(app: ASGIApp, admin_token: str | None, pages_public: bool) -> ASGIApp:
    """``app`` (the proxy) behind :func:`proxy_allowed`."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or proxy_allowed(scope, admin_token, pages_public):
            await app(scope, receive, send)
        else:
            await refuse(scope, send, 401, NEEDS_TOKEN)

    return guarded


async def refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    """401 (with a Bearer challenge) or 403 as JSON; a WebSocket is closed with 4401 or 4403."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4401 if status == 401 else 4403})
        return
    import orjson

    body = orjson.dumps({"error": "unauthorized" if status == 401 else "forbidden", "detail": detail})
    headers = [(b"content-type", b"application/json")]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="quotawarden"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
