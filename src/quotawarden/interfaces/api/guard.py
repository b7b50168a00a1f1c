"""The guard in front of every path the API routers do not own: the dashboard, its assets and MCP (``/mcp/``).

* MCP needs the admin token, always: on loopback with none configured that is the per-install token that
  ``serve`` writes to the data dir (mode 0600), which local clients read (``Authorization: Bearer <token>``).
* The dashboard answers a request without the token only where ``pages_public`` (loopback, no token configured)
  and only to a ``Host`` that names this machine's loopback (``localhost``, ``127.0.0.1``, ``[::1]``) or the
  configured ``server.host``: a page elsewhere that rebinds its DNS name to 127.0.0.1 gets 403.
* A state-changing request (not GET/HEAD/OPTIONS) whose ``Origin`` is another site's is refused (403); the
  dashboard's own form also carries a CSRF token (``interfaces.web.auth``).

A request that shows the admin token (header, ``qw_admin`` cookie or ``?token=``) passes the Host check: a
rebinding page cannot have it. ``/proxy`` (``serve --with-proxy``) keeps the proxy's own rules where the pages are
public, else needs the admin token as well (``interfaces.admin_gate``, which ``serve``'s front applies to it before
this app is built).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from quotawarden.interfaces.admin_gate import NEEDS_TOKEN, authorized, headers_of, proxy_allowed, refuse
from quotawarden.interfaces.api.state import ApiState

OPEN_PREFIXES = ("/v1", "/metrics", "/openapi.json", "/docs", "/redoc")
MCP_PREFIX = "/mcp"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
ANY_ADDRESS = frozenset({"", "0.0.0.0", "::", "[::]"})


def host_name(host_header: str) -> str:
    """``Host`` without its port, lower case; ``[::1]:7878`` -> ``::1``."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(host_header: str | None, configured: Iterable[str | None] = ()) -> bool:
    """Whether ``Host`` names loopback (a loopback name or address) or one of the ``configured`` names."""
    if not host_header:
        return False
    name = host_name(host_header)
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        if ipaddress.ip_address(name).is_loopback:
            return True
    except ValueError:
        pass
    return any(c and host_name(c) == name and c not in ANY_ADDRESS for c in configured)


def same_origin(origin: str | None, host_header: str | None) -> bool:
    """A missing ``Origin`` (a client that is not a browser) passes; a present one must name the ``Host``."""
    if origin is None:
        return True
    if origin == "null" or not host_header:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.strip().lower()


class GuardMounts:
    """ASGI middleware applying the rules above to every path outside the API's own prefixes."""

    def __init__(self, app: ASGIApp, st: ApiState) -> None:
        self.app, self.st = app, st

    def configured_hosts(self) -> tuple[str | None, ...]:
        return (self.st.bind_host, self.st.service.config.settings.server.host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        if path.startswith("/proxy"):
            if proxy_allowed(scope, self.st.admin_token, self.st.pages_public):
                await self.app(scope, receive, send)
            else:
                await refuse(scope, send, 401, NEEDS_TOKEN)
            return
        headers = headers_of(scope)
        method = scope.get("method", "GET")
        if method not in SAFE_METHODS and not same_origin(headers.get("origin"), headers.get("host")):
            await refuse(scope, send, 403, "cross-site request refused (its Origin is not this server)")
            return
        if authorized(scope, self.st.admin_token, headers):
            await self.app(scope, receive, send)
            return
        if path == MCP_PREFIX or path.startswith(MCP_PREFIX + "/"):
            await refuse(scope, send, 401, "MCP needs the admin token: send Authorization: Bearer <token> (on "
                                           "loopback without server.admin_token, the token serve wrote to "
                                           "its data dir, file admin-token)")
            return
        if not (self.st.pages_public or not self.st.admin_token):
            await refuse(scope, send, 401, NEEDS_TOKEN)
            return
        if not host_allowed(headers.get("host"), self.configured_hosts()):
            await refuse(scope, send, 403, "unknown Host: the dashboard answers loopback names and the configured "
                                           "server.host only")
            return
        await self.app(scope, receive, send)
