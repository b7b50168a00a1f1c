"""What the routers share, kept on ``app.state.qw`` (no module-level state): the service, the admin token,
short-lived caches that keep the hot status path off the database."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from quotawarden.service import Service

T = TypeVar("T")


@dataclass
class TTLCache:
    ttl: float
    _data: dict[Any, tuple[float, Any]] = field(default_factory=dict)
    _locks: dict[Any, Any] = field(default_factory=dict)

    def get(self, key: Any, make: Callable[[], T]) -> T:
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        value = make()
        if len(self._data) > 10000:
            self._data.clear()
        self._data[key] = (now + self.ttl, value)
        return value

    def peek(self, key: Any) -> tuple[bool, Any]:
        hit = self._data.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    async def aget(self, key: Any, make: Callable[[], T]) -> T:
        """``get`` for async routes: a hit costs no thread hop; a miss is computed once in the thread pool while
        concurrent callers of the same key wait for it (no stampede when an entry expires under load)."""
        found, value = self.peek(key)
        if found:
            return value  # type: ignore[no-any-return]
        import asyncio

        from starlette.concurrency import run_in_threadpool

        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            found, value = self.peek(key)
            if found:
                return value  # type: ignore[no-any-return]
            return await run_in_threadpool(self.get, key, make)

    def clear(self) -> None:
        self._data.clear()


@dataclass
class ApiState:
    service: Service
    admin_token: str | None
    replica: str
    metrics_public: bool = True
    pages_public: bool = False
    """Dashboard and MCP without the admin token: served on loopback with no token configured."""
    """``/metrics`` without a token (only when listening on loopback)."""
    started: float = field(default_factory=time.time)
    keys: TTLCache = field(default_factory=lambda: TTLCache(2.0))
    status: TTLCache = field(default_factory=lambda: TTLCache(1.0))
    instances: TTLCache = field(default_factory=lambda: TTLCache(1.0))
    poll_now: Callable[[list[str]], None] | None = None
    """Set by the daemon: make these accounts due at once."""

    def invalidate(self) -> None:
        self.keys.clear()
        self.status.clear()
        self.instances.clear()


def api_state(request: Request) -> ApiState:
    return request.app.state.qw  # type: ignore[no-any-return]
