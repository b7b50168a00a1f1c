"""The dashboard's gate: open on loopback, otherwise the API's admin token (same header and cookie names).

The token may come as ``Authorization: Bearer``, ``X-Admin-Token``, the ``qw_admin`` cookie, or once as
``?token=`` (the page then sets the cookie and redirects to the bare URL, so the token leaves the address bar).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

if TYPE_CHECKING:
    from quotawarden.app.service import Service

COOKIE = "qw_admin"


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


def check(request: Request, svc: Service) -> None:
    """Raise 401/403 unless the caller is on loopback or shows the admin token."""
    if is_loopback(request.client.host if request.client else None):
        return
    expected = admin_token(request, svc)
    if not expected:
        raise HTTPException(403, "the dashboard is served to loopback only until server.admin_token is set")
    token = supplied(request)
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(401, "send the admin token (Authorization: Bearer, or open the page once with ?token=)",
                            headers={"WWW-Authenticate": 'Bearer realm="quotawarden"'})
