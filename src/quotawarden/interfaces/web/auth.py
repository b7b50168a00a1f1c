"""The dashboard's gate: open on loopback, otherwise the API's admin token (same header and cookie names).

The token may come as ``Authorization: Bearer``, ``X-Admin-Token``, the ``qw_admin`` cookie, or once as
``?token=`` (the page then sets the cookie and redirects to the bare URL, so the token leaves the address bar).
Open on loopback means: to a loopback client that names a loopback ``Host`` (or the configured ``server.host``),
never to a page elsewhere whose DNS name was rebound to 127.0.0.1. A state-changing request (the ack button) also
needs the page's CSRF token (a form field ``csrf`` or the ``X-CSRF-Token`` header) and, from a browser, an
``Origin`` naming this server; a client that sends the admin token in a header needs neither.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from hashlib import sha256
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from quotawarden.interfaces.api.guard import host_allowed, same_origin

if TYPE_CHECKING:
    from quotawarden.app.service import Service

COOKIE = "qw_admin"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_PROCESS_SECRET = secrets.token_bytes(32)
"""Signs CSRF tokens when no admin token exists (a stand-alone dashboard): valid until the process ends."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def admin_token(request: Request, svc: Service) -> str | None:
    """The daemon's resolved token when mounted under it, else the config's ``server.admin_token``."""
    qw = getattr(request.app.state, "qw", None)
    if qw is not None and getattr(qw, "admin_token", None):
        return str(qw.admin_token)
    from quotawarden.credentials import resolve

    return resolve(svc.config.settings.server.admin_token)


def supplied(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return (request.headers.get("x-admin-token") or request.cookies.get(COOKIE)
            or request.query_params.get("token"))


def header_token(request: Request) -> str | None:
    """The admin token sent in a header (what a browser never sends by itself)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.headers.get("x-admin-token")


def _matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))


def csrf_token(request: Request, svc: Service) -> str:
    """The token the dashboard's forms carry: an HMAC of the admin token (or of a per-process secret), so it
    is the same on every replica and needs no session, and says nothing about the admin token."""
    key = (admin_token(request, svc) or "").encode() or _PROCESS_SECRET
    return hmac.new(key, b"quotawarden dashboard csrf", sha256).hexdigest()[:40]


def check_change(request: Request, svc: Service, form_token: str | None) -> None:
    """A state-changing request: 403 unless it shows the admin token in a header, or comes from this server's own
    page (``Origin``, when sent, names this server; the CSRF token matches)."""
    if _matches(admin_token(request, svc), header_token(request)):
        return
    if not same_origin(request.headers.get("origin"), request.headers.get("host")):
        raise HTTPException(403, "cross-site request refused (its Origin is not this server)")
    given = form_token or request.headers.get(CSRF_HEADER)
    if not given or not hmac.compare_digest(given.encode(), csrf_token(request, svc).encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


def check(request: Request, svc: Service) -> None:
    """Raise 401/403 unless the caller is on loopback (naming a loopback Host) or shows the admin token."""
    expected = admin_token(request, svc)
    if is_loopback(request.client.host if request.client else None):
        if _matches(expected, supplied(request)) or host_allowed(
                request.headers.get("host"), (svc.config.settings.server.host,)):
            return
        raise HTTPException(403, "unknown Host: the dashboard answers loopback names and the configured "
                                 "server.host only")
    if not expected:
        raise HTTPException(403, "the dashboard is served to loopback only until server.admin_token is set")
    token = supplied(request)
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(401, "send the admin token (Authorization: Bearer, or open the page once with ?token=)",
                            headers={"WWW-Authenticate": 'Bearer realm="quotawarden"'})
