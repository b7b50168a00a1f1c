"""What the routers share, kept on ``app.state.qw`` (no module-level state): the service, the admin token,
short-lived caches that keep the hot status path off the database.

The hot path (``/v1/status``) reads a :class:`Board`: every instance by key hash and by id, with its status
answer already rendered to JSON bytes. One background thread rebuilds it at most once a second, from one
status pass over all the instances' accounts; requests in the meantime are answered from the previous board,
so no request waits for the database or competes with a stampede of rebuilds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from fastapi import Request

from quotawarden.analysis import allocation as alloc
from quotawarden.analysis.planner import plan_json
from quotawarden.app import instances
from quotawarden.app.service import Service
from quotawarden.domain import Instance

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


class Refreshed(Generic[T]):
    """A value rebuilt in a background thread, at most one build at a time.

    Fresh for ``ttl`` seconds; then still served for up to ``stale`` seconds while one rebuild runs (callers
    never wait for it). After :meth:`invalidate` (a key was added or revoked) nobody sees the old value again:
    callers wait for a build that started after the invalidation.
    """

    def __init__(self, build: Callable[[], T], ttl: float, stale: float) -> None:
        self._build, self.ttl, self.stale = build, ttl, stale
        self._value: tuple[float, T] | None = None
        self._gen = 0
        self._lock = threading.Lock()
        self._running: Future[T] | None = None

    async def get(self) -> T:
        hit, now = self._value, time.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        running = self._start()
        if hit is not None and now - hit[0] < self.ttl + self.stale:
            return hit[1]
        return await asyncio.wrap_future(running)

    def peek(self) -> T | None:
        """The value if it may be served now (starting a rebuild when it is due), else None: no waiting."""
        hit, now = self._value, time.monotonic()
        if hit is None:
            return None
        if now - hit[0] >= self.ttl:
            self._start()
            if now - hit[0] >= self.ttl + self.stale:
                return None
        return hit[1]

    def invalidate(self) -> None:
        with self._lock:
            self._gen += 1
            self._value = None

    def _start(self) -> Future[T]:
        with self._lock:
            hit = self._value  # a build may have finished since the caller looked: no second build for it
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                fresh: Future[T] = Future()
                fresh.set_result(hit[1])
                return fresh
            if self._running is None:
                self._running = Future()
                threading.Thread(target=self._run, args=(self._running,), name="qw-status", daemon=True).start()
            return self._running

    def _run(self, done: Future[T]) -> None:
        try:
            while True:  # a build that overlapped an invalidation may miss the change: build again
                gen, started = self._gen, time.monotonic()
                value = self._build()
                with self._lock:
                    if gen == self._gen:
                        self._value, self._running = (started, value), None
                        break
        except BaseException as exc:
            with self._lock:
                self._running = None
            done.set_exception(exc)
            return
        done.set_result(value)


@dataclass(frozen=True, slots=True)
class Board:
    """Every instance by key hash and by id, and its status answer as JSON bytes."""

    by_hash: dict[str, Instance]
    by_id: dict[str, Instance]
    answers: dict[str, bytes]


def render(value: Any) -> bytes:
    """JSON bytes without null members (as ``response_model_exclude_none`` renders a model)."""

    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return orjson.dumps(strip(value))


def build_board(svc: Service) -> Board:
    insts = instances.all_instances(svc)
    ids = sorted({a for i in insts for a in i.providers.values()})
    statuses = svc.status(ids) if ids else []
    shares = instances.provider_shares(insts)
    budget = alloc.weights([alloc.Subscriber(i.id, i.state) for i in insts])
    answers = {i.id: render(instances.instance_status(svc, i, insts, statuses=statuses, shares=shares,
                                                      budget_weights=budget)) for i in insts}
    return Board({i.api_key_hash: i for i in insts}, {i.id: i for i in insts}, answers)


@dataclass
class RateWindow:
    """At most ``limit`` events per key within ``window_s`` seconds (a sliding window, kept in memory)."""

    limit: int
    window_s: float
    _seen: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, now: float | None = None) -> float:
        """Count one event for ``key``: 0 when allowed, else the seconds until one more would be."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._seen) > 10000:  # forget quiet keys rather than grow without bound
                self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.window_s}
            times = [t for t in self._seen.get(key, []) if t > now - self.window_s]
            if len(times) >= self.limit:
                self._seen[key] = times
                return max(times[0] + self.window_s - now, 0.001)
            times.append(now)
            self._seen[key] = times
            return 0.0


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
    seat_tokens: dict[str, str] = field(default_factory=dict)
    bind_host: str | None = None
    registrations: RateWindow = field(default_factory=lambda: RateWindow(
        instances.MAX_REGISTRATIONS_PER_SOURCE, instances.REGISTRATION_WINDOW_S))
    """``POST /v1/instances`` per client address without the admin token."""
    """The address ``serve`` listens on: a name the dashboard's Host check accepts (``guard.host_allowed``)."""
    """Seat token -> seat name: who besides the admin may send OTLP (``routes_otlp.otlp_sender``)."""
    board: Refreshed[Board] = field(init=False)
    report: Refreshed[bytes] = field(init=False)
    """The admin's ``/v1/status``: every account and instance, as JSON bytes."""

    def __post_init__(self) -> None:
        self.board = Refreshed(lambda: build_board(self.service), ttl=1.0, stale=5.0)
        self.report = Refreshed(self._report, ttl=1.0, stale=5.0)

    def _report(self) -> bytes:
        report = dict(self.service.status_report())
        report["next"] = plan_json(self.service.next_account())  # the planner's pick, as `quotawarden next`
        report["instances"] = {i.id: {"project_name": i.project, "framework": i.framework, "state": i.state,
                                      "providers": sorted(i.providers)}
                               for i in instances.all_instances(self.service)}
        return orjson.dumps(report)

    def invalidate(self) -> None:
        """Instances came, went or changed state: no answer (or key) from before may be served again."""
        self.keys.clear()
        self.status.clear()
        self.instances.clear()
        self.board.invalidate()
        self.report.invalidate()


def api_state(request: Request) -> ApiState:
    return request.app.state.qw  # type: ignore[no-any-return]
