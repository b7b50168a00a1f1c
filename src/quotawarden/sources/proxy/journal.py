"""The proxy's usage journal: every usage record reaches a file the moment it is made, before its answer ends.

Append-only segments in the spill folder (``journal-<pid>-<ns>.jsonl``, the spill file's JSON-lines format). A
record is one ``write(2)`` on the event loop (a few microseconds): from then on it survives a crash of the process
(``kill -9``), because it is in the operating system's page cache.

A power loss or kernel crash is another matter. By default (``sync_s`` 0) a segment is ``fdatasync``ed only when
its batch did not reach the store and it is kept for replay: a segment whose batch was stored is deleted within a
flush interval, usually before the kernel has written it at all, so the journal costs no disk writes. The
power-loss window is then the records not yet in the store (the last flush interval, 0.5 s by default), the same
order as the store's own: SQLite in WAL mode with ``synchronous=NORMAL`` may also lose its last commits then.

Group commit (``sync_s`` > 0, ``[proxy] journal_sync``): every ``sync_s`` a sync thread that finds unsynced records
prepares the next segment; the event loop switches to it on its next record, and the thread then ``fdatasync``s
the segment the loop left. Syncing a file that is no longer written matters: measured on ext4, a ``write``
appending to a file while it is being synced waited up to 5-19 ms (a page under writeback), stalling every
request; on a file of its own, at most 0.4 ms. A power loss can then lose the records of the last ``sync_s`` plus
one ``fdatasync`` (measured 8-17 ms on this kind of disk).

When the queue flushes, the segments written since the last flush are handed over with the batch: written to the
store, they are deleted; the store failing, they are synced, renamed ``replay-*.jsonl`` and replayed like the
spill file. A segment left by a process that died (no ``flock`` on it any more) is renamed for replay when the next
proxy starts. Usage rows are idempotent on their dedup key, so a segment replayed after its batch was already
stored adds nothing twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger("quotawarden.proxy")
_SEQ = itertools.count()


class Segment:
    __slots__ = ("closed", "complete", "fd", "lock", "path", "synced", "written")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.written = 0
        """Records appended (counted on the event loop)."""
        self.synced = 0
        """Records known to be on stable storage (set by the sync thread)."""
        self.complete = True
        """False once an append failed: its batch must then be spilled in full."""
        self.closed = False
        self.lock = threading.Lock()  # the sync thread against sealing


class Journal:
    def __init__(self, folder: Path, *, sync_s: float = 0.0) -> None:
        self.folder = folder
        self.sync_s = sync_s
        """Group commit interval; 0: sync only the segments kept for replay."""
        self.failures = 0
        self._active: Segment | None = None
        self._next: Segment | None = None
        """Prepared by the sync thread; the event loop switches to it on its next record."""
        self._left: list[Segment] = []
        """Segments the event loop switched away from since the last :meth:`rotate` (no longer written)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dir_dirty = False

    # -- life cycle ---------------------------------------------------------------------------------------

    def open(self) -> int:
        """Adopt the segments of processes that died (renamed for replay); start a segment and the sync thread.
        Returns how many segments were adopted."""
        self.folder.mkdir(parents=True, exist_ok=True)
        adopted = self._adopt()
        self._active = self._new_segment()
        if self.sync_s > 0:
            self._thread = threading.Thread(target=self._sync_loop, name="quotawarden-proxy-journal", daemon=True)
            self._thread.start()
        return adopted

    def close(self) -> None:
        """Stop syncing; the active segment (flushed already by the queue) is sealed and removed if empty."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        segs = [*self._left, *([self._active] if self._active else []), *([self._next] if self._next else [])]
        self._left, self._active, self._next = [], None, None
        for seg in segs:
            self.seal(seg)
            if seg.written == 0 and seg.complete:
                seg.path.unlink(missing_ok=True)
            else:
                self.keep(seg)

    # -- the hot path (event loop) ------------------------------------------------------------------------

    def append(self, data: bytes) -> None:
        nxt = self._next
        if nxt is not None and self._active is not None:  # the sync thread wants to sync the current segment
            self._next = None
            self._left.append(self._active)
            self._active = nxt
        seg = self._active
        if seg is None:
            return
        try:
            os.write(seg.fd, data)  # O_APPEND: one record, one write; short writes only on a full disk
        except OSError as exc:
            seg.complete = False
            self.failures += 1
            if self.failures == 1:
                log.warning("proxy journal %s not writable (%s): records wait in memory", seg.path, exc)
            return
        seg.written += 1

    def rotate(self) -> list[Segment]:
        """Hand over every segment written since the last call (the records of one batch); start a new one."""
        segs, self._left = self._left, []
        seg = self._active
        if seg is None or (seg.written == 0 and seg.complete):
            return segs
        nxt, self._next = self._next, None
        try:
            self._active = nxt if nxt is not None else self._new_segment()
        except OSError as exc:  # keep appending to the old one; its batch is then spilled in full
            log.warning("cannot start a new proxy journal segment: %s", exc)
            seg.complete = False
            return segs
        return [*segs, seg]

    # -- the writer thread ---------------------------------------------------------------------------------

    def seal(self, seg: Segment) -> None:
        """Close a handed-over segment, durable first under group commit (else :meth:`keep` syncs it)."""
        with seg.lock:
            if seg.closed:
                return
            seg.closed = True
            with contextlib.suppress(OSError):
                if self.sync_s > 0 and seg.synced < seg.written:
                    os.fdatasync(seg.fd)
                    seg.synced = seg.written
            os.close(seg.fd)

    @staticmethod
    def discard(seg: Segment) -> None:
        """Its batch is in the store."""
        seg.path.unlink(missing_ok=True)

    def keep(self, seg: Segment) -> Path:
        """Its batch did not reach the store: on disk, under a name that survives a power loss, to replay later."""
        target = self.folder / f"replay-{time.time_ns()}-{seg.path.stem}.jsonl"
        if seg.synced < seg.written:
            with contextlib.suppress(OSError):
                fd = os.open(seg.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fdatasync(fd)
                    seg.synced = seg.written
                finally:
                    os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            seg.path.rename(target)
            self._sync_dir()
        return target

    # -- internals -----------------------------------------------------------------------------------------

    def _new_segment(self) -> Segment:
        name = f"journal-{os.getpid()}-{time.time_ns()}-{next(_SEQ)}"
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while the process lives: not an orphan
        path = self.folder / f"{name}.jsonl"
        os.rename(tmp, path)  # locked before anyone can see it
        self._dir_dirty = True
        return Segment(path, fd)

    def _adopt(self) -> int:
        n = 0
        for path in sorted(self.folder.glob("journal-*.jsonl")):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a live process writes it
                os.close(fd)
                continue
            try:
                if os.fstat(fd).st_size == 0:
                    path.unlink(missing_ok=True)
                else:
                    path.rename(self.folder / f"replay-{time.time_ns()}-{path.stem}.jsonl")
                    n += 1
            finally:
                os.close(fd)
        if n:
            log.info("proxy journal: %d segment(s) of a stopped proxy will be replayed", n)
        return n

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.sync_s):
            seg = self._active
            if seg is not None and seg.synced < seg.written:
                if self._next is None:
                    try:
                        nxt = self._new_segment()
                        self._sync_dir()  # the new name is durable before a record goes in
                        self._next = nxt
                    except OSError:
                        self._sync(seg)
                    else:
                        self._stop.wait(0.002)  # a busy loop switches within microseconds
                else:  # prepared a tick ago and not taken: the loop is quiet, nothing competes
                    self._sync(seg)
            for left in list(self._left):
                self._sync(left)

    @staticmethod
    def _sync(seg: Segment) -> None:
        with seg.lock:
            if seg.closed or seg.synced >= seg.written:
                return
            upto = seg.written
            try:
                os.fdatasync(seg.fd)
            except OSError:
                return
            seg.synced = upto

    def _sync_dir(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
