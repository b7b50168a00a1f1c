"""Prometheus ``/metrics``: read from the store at scrape time by a collector on the app's own registry.

The registry (and ``prometheus_client``) is built by the first scrape: :func:`registry`. Other parts mounted in the
same process may register their own metrics on it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from quotawarden.interfaces.api.auth import bearer, is_admin
from quotawarden.interfaces.api.state import ApiState, api_state

router = APIRouter(tags=["operations"])


def registry(app: Any) -> Any:
    """The app's ``prometheus_client.CollectorRegistry``, built on first use: every value is read from the store
    when scraped, so one built late reports what one built at start would have."""
    reg = getattr(app.state, "metrics_registry", None)
    if reg is None:
        from quotawarden.interfaces.api.metrics_collector import build_registry

        reg = app.state.metrics_registry = build_registry(app.state.qw)
    return reg


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}},
                                                            401: {"description": "token required"}})
def metrics(request: Request, st: ApiState = Depends(api_state)) -> Response:
    """Prometheus text format. Open on loopback; beyond loopback it needs the admin token."""
    if not st.metrics_public and not is_admin(st, bearer(request)):
        raise HTTPException(401, "the admin token is required for /metrics on this address")
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(registry(request.app)), media_type=CONTENT_TYPE_LATEST)
