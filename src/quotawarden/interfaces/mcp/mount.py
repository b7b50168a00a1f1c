"""The daemon's ``/mcp`` mount, loaded on its first request.

The MCP SDK weighs about 25 MB of resident memory once imported; a daemon that no agent talks to over MCP never
pays it. The first request to ``/mcp`` builds the server (:func:`quotawarden.interfaces.mcp.server.build_server`),
starts the SDK's session manager in a task that lives until the app shuts down, then serves every request as the
eagerly mounted app would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quotawarden.app.service import Service

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LazyMcp:
    """An ASGI app that imports and starts the MCP server when the first request reaches it."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.app: Any = None
        self._lock: asyncio.Lock | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self.app is None:
                    await self._start()
        await self.app(scope, receive, send)

    async def _start(self) -> None:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        from quotawarden.interfaces.mcp.server import build_server

        # the SDK may configure root logging at INFO with a rich handler; the process's logging stays the host's
        root.handlers[:], root.level = handlers, level
        server = build_server(self.service)
        sub = server.streamable_http_app(streamable_http_path="/", stateless_http=True, json_response=True)
        ready, self._stop = asyncio.Event(), asyncio.Event()
        stop = self._stop

        async def hold() -> None:
            async with server.session_manager.run():
                ready.set()
                await stop.wait()

        self._task = asyncio.create_task(hold(), name="qw-mcp-sessions")
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiter.cancel()
            self._task.result()  # raises what stopped the session manager
        self.app = sub

    async def aclose(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await self._task


def mount(app: Any, service: Service, path: str = "/mcp") -> None:
    """Mount the MCP server at ``path`` (it keeps the daemon's auth); nothing is imported until it is used. Without
    the SDK installed, nothing is mounted."""
    if find_spec("mcp") is None:
        return
    lazy = LazyMcp(service)
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with outer(a) as state:
            try:
                yield state
            finally:
                await lazy.aclose()

    app.router.lifespan_context = lifespan
    app.mount(path, lazy)
