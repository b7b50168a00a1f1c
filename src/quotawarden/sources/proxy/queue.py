"""Writes leave the hot path: a bounded in-memory queue, flushed in batches by a background task.

Usage events, account states and observed accounts are also journaled the moment they are made (see
:mod:`.journal`): a crash of the process between two flushes loses none of them, and the journal is replayed
when the proxy starts again. When the sink (the store) fails, the batch's journal segment is kept for replay and
the rest of the batch (samples, per-hour answer counts) is appended to a spill file; when the queue is full, new
items go straight to the spill file. Nothing is dropped and no request waits on the database.
Samples are coalesced to the newest per account and window between two flushes; usage events,
states and observed accounts are all kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from quotawarden.domain import AccountState, QuotaSample, UsageEvent
from quotawarden.sources.proxy import codec
from quotawarden.sources.proxy.journal import Journal, Segment
from quotawarden.sources.proxy.model import Batch, ObservedAccount, Sink

log = logging.getLogger("quotawarden.proxy")
_REPLAY_CHUNK = 5000


@dataclass
class QueueStats:
    queued: int = 0
    written: int = 0
    spilled: int = 0
    replayed: int = 0
    sink_failures: int = 0
    bad_spill_lines: int = 0
    journaled: int = 0
    journal_failures: int = 0
    last_error: str = ""


class WriteQueue:
    def __init__(self, sink: Sink, spill_dir: Path, *, max_items: int = 10_000, interval_s: float = 0.5,
                 sync_s: float = 0.0) -> None:
        self.sink = sink
        self.spill_dir = spill_dir
        self.max_items = max_items
        self.interval_s = interval_s
        self.stats = QueueStats()
        self._pending = self._new()
        self._samples: dict[tuple[str, str], QuotaSample] = {}
        self._size = 0
        self._lock = threading.Lock()  # guards the active spill file (loop thread and flush thread)
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._sink_ok = True
        self._stopping = False
        self._writer: ThreadPoolExecutor | None = None
        self.journal = Journal(spill_dir, sync_s=sync_s)
        self._journal_open = False
        self.before_flush: Callable[[], None] | None = None
        """Called on the event loop right before a batch is taken (deferred capture turns into items here)."""

    @staticmethod
    def _new() -> Batch:
        return Batch()

    # -- producers (event loop, never block on I/O except an overflow append) ----------------------------

    def put_usage(self, event: UsageEvent) -> None:
        if self._journal_open:
            self.journal.append(codec.usage_line(event))
        if self._full():
            self._spill(Batch(usage=[event]))
            return
        self._pending.usage.append(event)
        self._grow()

    def put_samples(self, samples: Iterable[QuotaSample]) -> None:
        for s in samples:
            key = (s.account_id, s.window)
            if key not in self._samples:
                if self._full():
                    self._spill(Batch(samples=[s]))
                    continue
                self._grow()
            self._samples[key] = s

    def put_state(self, state: AccountState) -> None:
        if self._journal_open:
            self.journal.append(b"".join(codec.encode(Batch(states=[state]))))
        self._pending.states.append(state)
        self._grow()

    def put_outcome(self, account_id: str, failed: bool, ts: float) -> None:
        """One upstream call answered (any status below 500) or failed (5xx, unreachable, timed out)."""
        key = (account_id, int(ts) // 3600 * 3600)
        counts = self._pending.outcomes.get(key)
        if counts is None:
            counts = self._pending.outcomes[key] = [0, 0]
            self._grow()
        counts[failed] += 1

    def put_observed(self, account: ObservedAccount) -> None:
        if self._journal_open:
            self.journal.append(b"".join(codec.encode(Batch(observed=[account]))))
        self._pending.observed.append(account)
        self._grow()

    def _full(self) -> bool:
        return self._size >= self.max_items

    def _grow(self) -> None:
        self._size += 1
        self.stats.queued += 1
        if self._wake is not None and self._size >= self.max_items // 2:
            self._wake.set()

    def _take(self) -> Batch:
        batch, self._pending = self._pending, self._new()
        batch.samples = list(self._samples.values())
        self._samples = {}
        self._size = 0
        return batch

    # -- the flusher --------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            try:
                self.journal.open()  # segments a killed proxy left behind become replay files
                self._journal_open = True
            except OSError as exc:
                log.warning("proxy journal unavailable in %s (%s): records wait in memory until a flush",
                            self.spill_dir, exc)
            self._wake = asyncio.Event()
            # One writer thread: writes stay in order, and a single thread keeps a single malloc arena.
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="quotawarden-proxy-writer")
            self._writer.submit(self._open_sink)  # connect (and migrate) now, not in the first flush under load
            self._task = asyncio.create_task(self._run(), name="quotawarden-proxy-flusher")

    async def stop(self, retry_s: float = 2.0) -> None:
        """Write what is queued and stop: every record is in the store when this returns, unless the store is
        unreachable; then (after retrying for ``retry_s``) the records wait in the spill folder, said in a warning,
        and the next proxy started on this spill folder stores them.

        The flusher is never cancelled mid-flush: a batch it has taken would be lost from memory (its journal
        segments unreleased until the process ends) if its write were still waiting for the writer thread."""
        if self._task is not None:
            self._stopping = True
            if self._wake is not None:
                self._wake.set()
            await self._task
            self._task = None
        await self.flush()
        end = asyncio.get_running_loop().time() + retry_s
        while (not self._sink_ok or self._spilled_files()) and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.2)
            await self.flush()
        if self._journal_open:
            self._journal_open = False
            self.journal.close()
        if waiting := self._spilled_files():
            log.warning("proxy stopped with records not in the store (%s): they wait in %s and are stored when "
                        "a proxy starts again with this spill folder", self.stats.last_error or "store unavailable",
                        ", ".join(str(p) for p in waiting))
        if self._writer is not None:
            close = getattr(self.sink, "close", None)
            if close is not None:
                await asyncio.get_running_loop().run_in_executor(self._writer, close)
            self._writer.shutdown(wait=True)
            self._writer = None

    def _open_sink(self) -> None:
        """A sink may have ``open()``: it is called once in the writer thread; a failure only means the
        first flush will spill (the store is retried on every flush)."""
        opener = getattr(self.sink, "open", None)
        if opener is not None:
            try:
                opener()
            except Exception as exc:
                self._failed(exc)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.flush()
            except Exception:  # the flusher must outlive any single failure
                log.exception("proxy flush failed")

    async def flush(self) -> None:
        if self.before_flush is not None:
            self.before_flush()
        batch = self._take()
        segs = self.journal.rotate() if self._journal_open else []  # the same records as the batch
        if batch or segs or not self._sink_ok or self._spilled_files():
            if self._writer is None:
                await asyncio.to_thread(self._write, batch, segs)
            else:
                await asyncio.get_running_loop().run_in_executor(self._writer, self._write, batch, segs)
        self.stats.journal_failures = self.journal.failures

    def _write(self, batch: Batch, segs: Sequence[Segment] = ()) -> None:
        for seg in segs:
            self.journal.seal(seg)
            self.stats.journaled += seg.written
        if batch:
            try:
                self.sink(batch)
                self.stats.written += len(batch)
                self._sink_ok = True
            except Exception as exc:
                self._failed(exc)
                if segs and all(seg.complete for seg in segs):  # usage, states, observed: in the segments
                    self._spill(Batch(samples=batch.samples, outcomes=batch.outcomes))
                    self.stats.spilled += len(batch.usage) + len(batch.states) + len(batch.observed)
                else:
                    self._spill(batch)
                for seg in segs:
                    self.journal.keep(seg)
                return
        for seg in segs:
            self.journal.discard(seg)
        self._replay()

    def _failed(self, exc: Exception) -> None:
        self.stats.sink_failures += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
        if self._sink_ok:
            log.warning("store unavailable, spilling proxy records to %s (%s)", self.spill_dir, type(exc).__name__)
        self._sink_ok = False

    # -- spill and replay ---------------------------------------------------------------------------------

    @property
    def _active(self) -> Path:
        return self.spill_dir / "spill.jsonl"

    def _spilled_files(self) -> list[Path]:
        with contextlib.suppress(OSError):
            return sorted(self.spill_dir.glob("replay-*.jsonl")) + (
                [self._active] if self._active.exists() else [])
        return []

    def _spill(self, batch: Batch) -> None:
        if not batch:
            return
        data = b"".join(codec.encode(batch))
        with self._lock:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            with self._active.open("ab") as f:
                f.write(data)
        self.stats.spilled += len(batch)

    def _replay(self) -> None:
        with self._lock:
            if self._active.exists():
                self._active.rename(self.spill_dir / f"replay-{time.time_ns()}.jsonl")
        for path in sorted(self.spill_dir.glob("replay-*.jsonl")):
            if not self._replay_file(path):
                return
            path.unlink(missing_ok=True)
            log.info("replayed spilled proxy records from %s", path.name)

    def _replay_file(self, path: Path) -> bool:
        with path.open("rb") as f:
            while True:
                lines = [line for _, line in zip(range(_REPLAY_CHUNK), f, strict=False)]
                if not lines:
                    return True
                batch, bad = codec.decode(lines)
                self.stats.bad_spill_lines += bad
                try:
                    self.sink(batch)  # writes are idempotent, so a chunk sent twice is stored once
                except Exception as exc:
                    self._failed(exc)
                    return False
                self._sink_ok = True
                self.stats.replayed += len(batch)
