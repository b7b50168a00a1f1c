"""``serve``'s ASGI app: the process's lifespan, pure ASGI mounts (``/proxy``) and the HTTP API built by its first
request.

An idle daemon answers nobody: it polls. The API (FastAPI, Starlette's routing, the routes' pydantic models and
what they import, about 10 MB resident) is built by the first request that is not for a mount - the API, the
dashboard, ``/metrics`` or MCP - in a worker thread while the event loop goes on (concurrent first requests wait for
that one build), its own lifespan is started then, and every later request goes straight to it. A mount
(``serve --with-proxy``'s ``/proxy``) is answered without it. Nothing here imports FastAPI or Starlette.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from quotawarden.interfaces.admin_gate import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("quotawarden.daemon")


class Front:
    """``lifecycle`` is entered on the server's lifespan start-up and left on its shutdown, after the API's own
    lifespan (if it was built; a server without lifespan runs neither). ``mounts``: a path prefix -> a pure ASGI
    app, which sees the request as under a Starlette ``Mount`` (``root_path`` extended by the prefix). ``build``
    makes the API, once, in a worker thread; a build that raises fails its request, and the next one tries again."""

    def __init__(self, build: Callable[[], ASGIApp], lifecycle: Callable[[], AbstractAsyncContextManager[None]],
                 mounts: Mapping[str, ASGIApp] | None = None) -> None:
        self._build, self._lifecycle = build, lifecycle
        self._mounts = dict(mounts or {})
        self._built: ASGIApp | None = None  # made (api() or a first request)
        self._ready: ASGIApp | None = None  # and its lifespan started: requests go to it
        self._build_lock = threading.Lock()
        self._start_lock: asyncio.Lock | None = None
        self._stack: AsyncExitStack | None = None
        self._state: dict[str, Any] | None = None

    def api(self) -> Any:
        """The API (the FastAPI app, to read its routes or state), built now unless a request or an earlier call
        built it; from any thread."""
        return self._make()

    def _make(self) -> ASGIApp:
        with self._build_lock:
            if self._built is None:
                t0 = time.perf_counter()
                self._built = self._build()
                log.info("HTTP API built in %.2f s", time.perf_counter() - t0)
            return self._built

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind not in ("http", "websocket"):
            raise RuntimeError(f"unsupported ASGI scope type {kind!r}")
        path: str = scope["path"]
        for prefix, app in self._mounts.items():
            if path.startswith(prefix + "/"):
                await app({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)
                return
        app = self._ready or await self._start_api()
        await app(scope, receive, send)

    async def _start_api(self) -> ASGIApp:
        self._start_lock = self._start_lock or asyncio.Lock()
        async with self._start_lock:  # concurrent first requests: one build, the others wait for it
            if self._ready is None:
                app = self._built if self._built is not None else await asyncio.to_thread(self._make)
                if self._stack is not None:
                    await self._stack.enter_async_context(_Lifespan(app, self._state))
                self._ready = app
            return self._ready

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Start-up enters ``lifecycle``; a failure is reported as ``lifespan.startup.failed`` with its traceback
        (uvicorn logs it and exits). Shutdown stops the API's lifespan, then leaves ``lifecycle``."""
        state = scope.get("state")
        self._state = state if isinstance(state, dict) else None
        stack = AsyncExitStack()
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await stack.enter_async_context(self._lifecycle())
                except BaseException:
                    await send({"type": "lifespan.startup.failed", "message": traceback.format_exc()})
                    raise
                self._stack = stack
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stack = None
                try:
                    await stack.aclose()
                except BaseException:
                    await send({"type": "lifespan.shutdown.failed", "message": traceback.format_exc()})
                    raise
                await send({"type": "lifespan.shutdown.complete"})
                return


class _Lifespan:
    """An ASGI app's lifespan, driven from inside the server's: ``async with`` starts it (an app without lifespan
    support, one that returns or raises before answering, is served without), leaving it shuts it down."""

    def __init__(self, app: ASGIApp, state: dict[str, Any] | None) -> None:
        self.app = app
        self.scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                             "state": {} if state is None else state}  # the server's: requests get a copy
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Future[None] | None = None

    async def __aenter__(self) -> None:
        self.task = asyncio.ensure_future(self.app(self.scope, self.inbox.get, self.outbox.put))
        try:
            await self._step("lifespan.startup")
        except BaseException:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            raise

    async def __aexit__(self, *exc: object) -> None:
        if self.task is None or self.task.done():
            return
        try:
            await self._step("lifespan.shutdown")
        finally:
            await asyncio.gather(self.task, return_exceptions=True)  # what it raised is in the failure's message

    async def _step(self, what: str) -> None:
        assert self.task is not None
        await self.inbox.put({"type": what})
        reply = asyncio.ensure_future(self.outbox.get())
        either: set[asyncio.Future[Any]] = {reply, self.task}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():  # the app ended without answering: it has no lifespan
            reply.cancel()
            if not self.task.cancelled() and self.task.exception() is not None:
                log.debug("the API has no lifespan: %r", self.task.exception())
            return
        message = reply.result()
        if message["type"].endswith(".failed"):
            raise RuntimeError(f"the HTTP API's {what} failed: {message.get('message', '')}")
