"""Consumers held back by the ``throttle_consumers`` action: each gets one call through the proxy at a time.

The held set is read from the store every ``refresh_s`` seconds in a worker thread; a request only looks it up in
a frozenset, so the common case (nobody held back) costs one set membership test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection

log = logging.getLogger("quotawarden.proxy")

ThrottleLookup = Callable[[], Collection[str]]
"""The consumers held back right now."""


class Throttle:
    def __init__(self, lookup: ThrottleLookup | None, refresh_s: float = 10.0) -> None:
        self.lookup = lookup
        self.refresh_s = refresh_s
        self.held: frozenset[str] = frozenset()
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._task: asyncio.Task[None] | None = None

    def gate(self, consumer: str | None) -> asyncio.Semaphore | None:
        if consumer is None or consumer not in self.held:
            return None
        found = self._gates.get(consumer)
        if found is None:
            found = self._gates[consumer] = asyncio.Semaphore(1)
        return found

    async def start(self) -> None:
        if self.lookup is not None and self._task is None:
            await self.refresh()
            self._task = asyncio.create_task(self._run(), name="quotawarden-proxy-throttle")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def refresh(self) -> None:
        assert self.lookup is not None
        try:
            self.held = frozenset(await asyncio.to_thread(self.lookup))
        except Exception as exc:  # the store is away: keep the last known set
            log.warning("could not read throttled consumers: %s", type(exc).__name__)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            await self.refresh()
