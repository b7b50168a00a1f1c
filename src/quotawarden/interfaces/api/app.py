"""The app factory: ``create_app(service)`` builds the FastAPI app; nothing here is global.

The dashboard and the MCP server mount themselves (``mount(app, service)``) when installed; ``guard.GuardMounts``
stands in front of everything outside ``/v1``, ``/metrics`` and the OpenAPI document: MCP always needs the admin
token, the dashboard too unless served on loopback with none configured (then only to loopback ``Host`` names).
"""

from __future__ import annotations

import gc
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext, suppress
from importlib import import_module
from typing import Any

from fastapi import FastAPI

import quotawarden
from quotawarden.app.service import Service
from quotawarden.interfaces.api import (
    errors,
    metrics,
    routes_accounts,
    routes_hub,
    routes_instances,
    routes_ops,
    routes_otlp,
    routes_providers,
    routes_reports,
    routes_status,
)
from quotawarden.interfaces.api.guard import GuardMounts
from quotawarden.interfaces.api.hotpath import StatusFastPath
from quotawarden.interfaces.api.state import ApiState

log = logging.getLogger("quotawarden.api")
MOUNTS = ("quotawarden.interfaces.web.dashboard", "quotawarden.interfaces.mcp.mount")
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(service: Service, *, admin_token: str | None = None, replica: str | None = None,
               metrics_public: bool = True, pages_public: bool = False, lifespan: Lifespan | None = None,
               poll_now: Callable[[list[str]], None] | None = None,
               extra_mounts: dict[str, Any] | None = None, freeze_heap: bool = False,
               seat_tokens: dict[str, str] | None = None) -> FastAPI:
    """``freeze_heap``: once started, move the process's long-lived objects out of the cyclic garbage
    collector's reach (``gc.freeze``): for a serving process (``serve``), not for a test run. ``seat_tokens``
    (token -> seat name) default to the config's ``[[hub.seats]]``."""
    st = ApiState(service=service, admin_token=admin_token, replica=replica or socket.gethostname(),
                  metrics_public=metrics_public, pages_public=pages_public, poll_now=poll_now,
                  seat_tokens=service.hub_seat_tokens() if seat_tokens is None else seat_tokens)

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app) if lifespan is not None else nullcontext():
            if freeze_heap:
                await _freeze_heap(st)
            yield

    app = FastAPI(title="quotawarden", version=quotawarden.__version__,
                  description="Quotas, rate limits, balances and cost across LLM accounts; quota-sentinel "
                              "compatible instance API under /v1.", lifespan=_lifespan)
    app.state.qw = st
    errors.install(app)
    for module in (routes_instances, routes_status, routes_providers, routes_ops, routes_accounts,
                   routes_reports, routes_otlp, routes_hub, metrics):
        app.include_router(module.router)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for name in MOUNTS:
        _mount(app, service, name)
    # A mounted part (the MCP SDK) may configure root logging at INFO with a rich handler, which would log
    # every HTTP request at great cost; the process's logging stays the host's choice.
    root.handlers[:], root.level = handlers, level
    for prefix, sub in (extra_mounts or {}).items():
        app.mount(prefix, sub)
    app.add_middleware(GuardMounts, st=st)
    app.add_middleware(StatusFastPath, st=st)  # added last: the outermost, ahead of everything for cache hits
    return app


async def _freeze_heap(st: ApiState) -> None:
    """A full collection walks every object (modules, routes, the store's engine: ~170k) with the GIL held: on
    a shared core that is a 0.1-0.3 s stall of every request in flight, many times a minute, since the status
    board allocates as it rebuilds. Built once (a first board) and frozen, the heap the collector walks is what
    was allocated since: small."""
    with suppress(Exception):  # a database that is down now is reported by the requests, not at start
        await st.board.get()
    gc.collect()
    gc.freeze()


def _mount(app: FastAPI, service: Service, module: str) -> None:
    try:
        mod = import_module(module)
    except ImportError:
        return
    mount: Callable[[FastAPI, Service], Awaitable[None] | None] | None = getattr(mod, "mount", None)
    if mount is None:
        return
    try:
        mount(app, service)
    except Exception as exc:  # a broken optional part must not take the API down
        log.warning("could not mount %s: %s", module, exc)
