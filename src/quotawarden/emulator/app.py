"""The emulator ASGI app: one catch-all route that dispatches to the emulated provider modules.

``create_app(scenario, clock)`` builds it; ``app.state.emulator`` is the :class:`EmulatorState` that tests read
(calls made per account, tokens consumed) and may change while the app runs (add accounts, set faults).
Provider modules are discovered in ``quotawarden.emulator.providers`` (see ``quotawarden.emulator.base``).
"""

from __future__ import annotations

import asyncio
import pkgutil
import re
import time
from importlib import import_module

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from quotawarden.clock import Clock, SystemClock
from quotawarden.emulator.base import (
    Call,
    EmulatedProvider,
    EmulatorState,
    EmuRequest,
    Route,
    json_response,
    malformed,
)
from quotawarden.emulator.scenario import EmuAccount, Scenario


def load_emulated_providers() -> dict[str, EmulatedProvider]:
    """Every ``EMULATOR`` defined by a module of ``quotawarden.emulator.providers``, by slug."""
    from quotawarden.emulator import providers as pkg

    found: dict[str, EmulatedProvider] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = import_module(f"{pkg.__name__}.{info.name}")
        items = getattr(module, "EMULATOR", None)
        for item in items if isinstance(items, list) else [items] if items else []:
            found[item.slug] = item
    return found


_AUTH = re.compile(r"^\s*(?:bearer|token)\s+(.+?)\s*$", re.IGNORECASE)


def presented_credential(request: Request) -> str | None:
    h = request.headers
    if auth := h.get("authorization"):
        m = _AUTH.match(auth)
        return m.group(1) if m else auth.strip()
    return h.get("x-api-key") or h.get("x-goog-api-key") or request.query_params.get("key")


def _candidates(state: EmulatorState, path: str, account: EmuAccount | None, credential: str | None
                ) -> list[tuple[EmulatedProvider, str]]:
    first, _, rest = path.lstrip("/").partition("/")
    scoped = state.providers.get(first)
    if account is not None:
        own = state.providers.get(account.provider)
        if own is None:
            return []
        return [(own, path)] + ([(own, "/" + rest)] if scoped is own else [])
    if scoped is not None:
        return [(scoped, "/" + rest), *[(p, path) for p in state.providers.values()]]
    ordered = list(state.providers.values())
    if credential:
        ordered.sort(key=lambda p: not (p.credential_hint and re.search(p.credential_hint, credential)))
    return [(p, path) for p in ordered]


async def _hang(request: Request, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


async def dispatch(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    credential = presented_credential(request)
    account = state.credentials.get(credential) if credential else None
    path = request.url.path
    for provider, sub in _candidates(state, path, account, credential):
        for route in provider.routes:
            params = route.match(request.method, sub)
            if params is not None:
                response = await _serve(request, state, provider, route, params, account, credential)
                state.calls.append(Call(account.id if account else None, request.method, path,
                                        response.status_code))
                return response
    return json_response({"error": {"message": f"no emulated route for {request.method} {path}",
                                    "type": "not_found"}}, 404)


async def _serve(request: Request, state: EmulatorState, provider: EmulatedProvider, route: Route,
                 params: dict[str, str], account: EmuAccount | None, credential: str | None) -> Response:
    req = EmuRequest(request, state, provider, account, credential, params, state.clock.now(),
                     await request.body())
    if route.auth and account is None:
        return provider.error(req, "401")
    latency = (account.latency_ms if account and account.latency_ms is not None else state.scenario.latency_ms)
    if latency:
        await asyncio.sleep(latency / 1000)
    response: Response | None = None
    if account is not None and account.fault:
        hits = state.fault_hits[account.id]
        if account.fault_count is None or hits < account.fault_count:
            state.fault_hits[account.id] = hits + 1
            if account.fault == "timeout":
                await _hang(request, state.scenario.hang_s)
                return Response(b"", status_code=504)
            response = malformed() if account.fault == "malformed" else provider.error(req, account.fault)
    if response is None:
        response = await route.handler(req)
    if account is not None:
        for k, v in provider.headers(req).items():
            if k not in response.headers:
                response.headers[k] = v
    return response


_INDICATOR_TEXT = {"none": "All Systems Operational", "minor": "Minor Service Outage",
                   "major": "Partial System Outage", "critical": "Major System Outage"}


async def status_page(request: Request) -> Response:
    """A provider's status page in the Statuspage ``/api/v2/status.json`` shape."""
    state: EmulatorState = request.app.state.emulator
    provider = request.path_params["provider"]
    indicator = state.scenario.status.get(provider, "none")
    state.status_reads[provider] += 1
    return json_response({
        "page": {"id": f"emu-{provider}", "name": provider, "url": str(request.base_url),
                 "time_zone": "Etc/UTC", "updated_at": state.clock.now().isoformat()},
        "status": {"indicator": indicator, "description": _INDICATOR_TEXT.get(indicator, indicator)}})


def create_app(scenario: Scenario | None = None, clock: Clock | None = None,
               providers: dict[str, EmulatedProvider] | None = None) -> Starlette:
    clock = clock or SystemClock()
    scenario = scenario or Scenario()
    app = Starlette(routes=[StarletteRoute("/_status/{provider}/api/v2/status.json", status_page, methods=["GET"]),
                            StarletteRoute("/{path:path}", dispatch,
                                           methods=["GET", "POST", "PUT", "DELETE", "PATCH"])])
    app.state.emulator = EmulatorState(scenario, clock, providers or load_emulated_providers(),
                                       scenario.start or clock.now())
    return app
