"""Incremental agent-log ingestion: read only new bytes, apply each source's dedup rules, hand rows to a sink.

Per file the sink remembers (device, inode, size, offset, line, hash of the first block, reader state). A file
is skipped when device, inode, size and mtime are unchanged; read from its offset when it grew and its head is
the same; read from the start when it shrank (truncation), its inode or head changed (rotation, replaced in
place); forgotten when it disappeared (its events stay: they are history). A line is consumed only once it ends
in a newline, so a line still being written is read whole next time. Malformed lines are counted and named
(``file:line``), never fatal. What to read is planned in :mod:`.log_plan`.

The sink (``quotawarden.store.ingest.StoreLogSink``) is passed in: sources sit below the store.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from quotawarden.domain import FileState, QuotaSample
from quotawarden.logsources.base import LogSourceSpec, MalformedRecord, ReaderContext, Record, record_of, record_total
from quotawarden.pricing import Pricer
from quotawarden.sources.log_plan import FileJob, IngestReport, LogSink, head_hash, plan

FLUSH_EVENTS = 20000
IN_FLIGHT = 128
WORKER_BYTES = 32 * 1024 * 1024
"""Below this much new data, worker processes cost more than they save."""
MAX_NAMED_MALFORMED = 200
Progress = Callable[[int, int], None]
"""``(bytes_done, bytes_total)`` while reading."""


Row = tuple[Any, ...]
"""A ``usage_events`` row: a record's first 19 fields, the cost calculated and the host filled in."""


class _Priced:
    """Records -> rows, priced (``Pricer`` caches rates per model and day) and noted: hours touched, models
    with no known price. Runs in the workers too, so the parent only dedups and writes."""

    def __init__(self, pricer: Pricer, host: str | None) -> None:
        self.pricer, self.rates, self.host = pricer, pricer.rates, host
        self.hours: set[int] = set()
        self.unpriced: set[str] = set()

    def rows(self, records: Iterable[Record]) -> list[Row]:
        rates, hours, host, unpriced = self.rates, self.hours, self.host, self.unpriced
        out = []
        for r in records:
            ts = r[1]
            hours.add(int(ts // 3600))
            rate = rates(r[2], r[3], ts)
            if rate is None:
                cost = None
                unpriced.add(r[3])
            else:
                cost = round(rate.cost(r[10], r[11], r[12], r[13], r[14]), 8)
            out.append((*r[:9], r[9] or host, *r[10:16], cost, r[17], r[18]))
        return out


class _Run:
    """One ingestion run: in-run dedup of priced rows (plain tuples), then batched writes. Sidechain records
    wait for the end of the run: one is dropped when its message was seen as a main record."""

    def __init__(self, sink: LogSink, pricer: Pricer, report: IngestReport, host: str | None) -> None:
        self.sink, self.report, self.host = sink, report, host
        self.priced = _Priced(pricer, host)
        self.pending: dict[str, dict[str, Row]] = {}
        self.sidechains: dict[str, Record] = {}
        self.main_messages: set[int] = set()
        self.samples: list[QuotaSample] = []

    @property
    def hours(self) -> set[int]:
        return self.priced.hours

    def add(self, spec: LogSourceSpec, item: Any) -> None:
        if isinstance(item, QuotaSample):
            self.samples.append(item)
            return
        r = record_of(item, self.host)
        if r[20]:
            self.add_sidechains([r])
        else:
            self.main_messages.add(hash(r[19]))
            self.add_rows(self.priced.rows([r]), spec.on_conflict)

    def add_sidechains(self, records: Iterable[Record]) -> None:
        side = self.sidechains
        for r in records:
            cur = side.get(r[0])
            if cur is None or record_total(r) > record_total(cur):
                side[r[0]] = r

    def add_rows(self, rows: Sequence[Row], mode: str) -> None:
        bucket = self.pending.setdefault(mode, {})
        replace = mode == "replace"
        dups = 0
        for r in rows:
            key = r[0]
            cur = bucket.get(key)
            if cur is None:
                bucket[key] = r
            else:
                dups += 1
                if replace or record_total(r) > record_total(cur):  # rows keep the token fields' places
                    bucket[key] = r
        self.report.duplicates += dups
        if len(bucket) >= FLUSH_EVENTS:
            self.flush(mode)

    def flush(self, mode: str) -> None:
        items = self.pending.pop(mode, {})
        if items:
            self.sink.upsert_events(list(items.values()), mode)
            self.report.events += len(items)

    def finish(self) -> None:
        for mode in list(self.pending):
            self.flush(mode)
        # a sidechain copy of a message already seen under another request id is a replay: keep the main copy
        side = [r for r in self.sidechains.values() if hash(r[19]) not in self.main_messages]
        stored = self.sink.keys_with_prefix({r[19] + ":" for r in side}) if side else set()
        keep = [r for r in side if r[19] + ":" not in stored]
        self.report.duplicates += len(self.sidechains) - len(keep)
        if keep:
            self.sink.upsert_events(self.priced.rows(keep), "larger")
            self.report.events += len(keep)
        self.report.unpriced_models |= self.priced.unpriced
        if self.samples:
            self.sink.write_samples(self.samples)
            self.report.samples += len(self.samples)

    def touched_hours(self) -> set[int]:
        # the copy a row replaced may sit in a neighbouring hour
        return {h + d for h in self.hours for d in (-1, 0, 1)}


def ingest(sink: LogSink, specs: Sequence[LogSourceSpec], roots: Mapping[str, list[Path]], *, pricer: Pricer,
           host: str, accounts: Mapping[str, str] | None = None, progress: Progress | None = None,
           workers: int | None = None) -> IngestReport:
    """One incremental pass over every file of ``specs`` under ``roots`` (slug -> folders).

    Batch-capable sources are parsed in ``workers`` processes (default: up to 2) when there is a lot to read;
    the parent dedups, prices and writes while the workers parse.
    """
    started = time.perf_counter()
    report = IngestReport()
    try:
        jobs, gone = plan(specs, roots, sink.load_files(), report)
        run = _Run(sink, pricer, report, host)
        with sink.bulk(sum(j.st.st_size - j.offset for j in jobs)):
            states = _read_all(jobs, run, accounts or {}, progress, workers)
            run.finish()
            sink.save_files(states)
            if gone:
                sink.forget_files(gone)
            if run.hours:  # inside a bulk load: before its indexes are rebuilt, in its one transaction
                report.hours_rebuilt = sink.rebuild_hours(run.touched_hours())
    finally:
        sink.close()
    report.seconds = time.perf_counter() - started
    return report


def _read_all(jobs: list[FileJob], run: _Run, accounts: Mapping[str, str], progress: Progress | None,
              workers: int | None) -> list[FileState]:
    report, host = run.report, run.host
    total = sum(j.st.st_size - j.offset for j in jobs)
    done = 0
    states: list[FileState] = []
    batch = [j for j in jobs if j.spec.kind == "append" and hasattr(j.spec.reader, "records")]
    in_batch = {id(j) for j in batch}
    for job, res in _batch_results(batch, run.priced, accounts, workers):
        state, rows, side, mains, lines, malformed, bad, dups, hours, unpriced = res
        run.main_messages.update(mains)
        run.add_rows(rows, job.spec.on_conflict)
        if side:
            run.add_sidechains(side)
        run.hours.update(hours)
        run.priced.unpriced.update(unpriced)
        report.duplicates += dups
        report.lines += lines
        report.bytes_read += state.offset - job.offset
        report.by_source[job.spec.slug] = report.by_source.get(job.spec.slug, 0) + len(rows) + len(side) + dups
        for where in malformed:
            _malformed(report, where)
        report.malformed += bad - len(malformed)
        states.append(state)
        done += job.st.st_size - job.offset
        report.files_read += 1
        if progress is not None:
            progress(done, total)
    for job in (j for j in jobs if id(j) not in in_batch):
        ctx = ReaderContext(job.path, job.root, host, accounts.get(job.spec.slug), job.state)
        states.append(_read_whole(job, ctx, run) if job.spec.kind == "whole" else _read_append(job, ctx, run))
        done += job.st.st_size - job.offset
        report.files_read += 1
        if progress is not None:
            progress(done, total)
    return states


def _malformed(report: IngestReport, where: str) -> None:
    report.malformed += 1
    if len(report.malformed_at) < MAX_NAMED_MALFORMED:
        report.malformed_at.append(where)


_BatchResult = tuple[FileState, list[Row], list[Record], list[int], int, list[str], int, int, set[int], set[str]]
"""(new file state, main rows deduped within the file and priced, sidechain records, hashes of the main
records' message ids (a forked worker hashes with the parent's seed), lines read, the first malformed
``file:line``, how many lines were malformed, duplicates dropped, hours touched, models with no known price)"""
_WORKER_JOBS: list[tuple[FileJob, str | None]] = []  # set before forking: children inherit, nothing pickled
_WORKER_PRICER: list[tuple[Pricer, str | None]] = []


def _batch_results(jobs: list[FileJob], priced: _Priced, accounts: Mapping[str, str],
                   workers: int | None) -> Iterator[tuple[FileJob, _BatchResult]]:
    args = [(j, accounts.get(j.spec.slug)) for j in jobs]
    nbytes = sum(j.st.st_size - j.offset for j in jobs)
    n = min(2, os.cpu_count() or 1) if workers is None else workers
    if n < 2 or len(jobs) < 2 or nbytes < WORKER_BYTES or not _can_fork():
        for job, account in args:
            yield job, _read_batch(job, account, priced.pricer, priced.host)
        return
    import multiprocessing as mp  # only a big read pays for it

    priced.pricer.prepare()  # once here, not once in each worker
    global _WORKER_JOBS, _WORKER_PRICER
    _WORKER_JOBS, _WORKER_PRICER = args, [(priced.pricer, priced.host)]
    # files go out in chunks: one message per file cost the parent (unpickling, the pool's threads) about a third
    # of what the workers spend parsing; a few chunks per worker keep them balanced
    chunk = max(1, min(IN_FLIGHT // 4, len(args) // (8 * n)))
    try:
        with mp.get_context("fork").Pool(n, initializer=_worker_init) as pool:
            # a bounded window of files in flight: the parent writes slower than two workers parse, and an
            # unbounded queue of parsed results would hold most of the history in memory
            queue: deque[tuple[int, Any]] = deque()
            upcoming = iter(range(0, len(args), chunk))
            for i in islice(upcoming, max(2 * n, IN_FLIGHT // chunk)):
                queue.append((i, pool.apply_async(_read_batches_at, (i, chunk))))
            while queue:
                i, pending = queue.popleft()
                results = pending.get()
                nxt = next(upcoming, None)
                if nxt is not None:
                    queue.append((nxt, pool.apply_async(_read_batches_at, (nxt, chunk))))
                for k, res in enumerate(results, i):
                    yield jobs[k], res
    finally:
        _WORKER_JOBS, _WORKER_PRICER = [], []


def _worker_init() -> None:
    # a worker lives for one run and builds millions of short-lived objects, none cyclic: the collector would
    # only walk them again and again
    import gc
    import signal

    gc.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent answers it


def _can_fork() -> bool:
    """Fork only a single-threaded process (the CLI): a forked child of a threaded one (the daemon) may inherit a
    lock some other thread held; the daemon's ingestion runs in-process instead."""
    import multiprocessing as mp
    import threading

    return threading.active_count() == 1 and "fork" in mp.get_all_start_methods()


def _read_batches_at(start: int, count: int) -> list[_BatchResult]:
    return [_read_batch(*_WORKER_JOBS[i], *_WORKER_PRICER[0]) for i in range(start, min(start + count,
                                                                                        len(_WORKER_JOBS)))]


def _read_batch(job: FileJob, account: str | None, pricer: Pricer, host: str | None) -> _BatchResult:
    """Read a file's new whole lines through the source's batch reader; dedup inside the file; price."""
    ctx = ReaderContext(job.path, job.root, host, account, job.state)
    reader: Any = job.spec.reader(ctx)  # type: ignore[misc]
    with open(job.path, "rb") as f:
        f.seek(job.offset)
        data = f.read(job.st.st_size - job.offset)
    end = data.rfind(b"\n") + 1  # only whole lines; a line being written waits for its newline
    lines = data.split(b"\n")
    lines.pop()  # what follows the last newline (empty, or the line being written); no copy of data[:end]
    records, bad, dups = reader.records(lines)
    main = [r for r in records if not r[20]]
    side = [r for r in records if r[20]] if len(main) < len(records) else []
    mains = list({hash(r[19]) for r in main})
    malformed = [f"{job.path}:{job.lines + 1 + i}" for i in bad[:MAX_NAMED_MALFORMED]]
    priced = _Priced(pricer, host)
    rows = priced.rows(main)
    return (_file_state(job, end, len(data), len(lines), reader), rows, side, mains, len(lines), malformed,
            len(bad), dups, priced.hours, priced.unpriced)


def _file_state(job: FileJob, end: int, size: int, nlines: int, reader: Any) -> FileState:
    head = job.head if job.offset else (head_hash(job.path) if end else None)
    return FileState(str(job.path), job.spec.slug, job.st.st_dev, job.st.st_ino, job.offset + end,
                     job.offset + end, job.lines + nlines, head, job.st.st_mtime if end == size else -1.0,
                     orjson.dumps(reader.state()).decode())


def _read_append(job: FileJob, ctx: ReaderContext, run: _Run) -> FileState:
    spec, report = job.spec, run.report
    assert spec.reader is not None
    reader = spec.reader(ctx)
    with open(job.path, "rb") as f:
        f.seek(job.offset)
        data = f.read(job.st.st_size - job.offset)
    end = data.rfind(b"\n") + 1  # only whole lines; a line being written waits for its newline
    report.bytes_read += end
    lines = data.split(b"\n")
    lines.pop()  # what follows the last newline (empty, or the line being written)
    hint = spec.usage_hint
    add, feed = run.add, reader.feed
    count = 0
    for n, line in enumerate(lines, job.lines + 1):
        if hint is not None and hint not in line:
            continue
        try:
            items = feed(line)
            for item in items:
                add(spec, item)
                count += 1
        except MalformedRecord:
            if line.strip():
                _malformed(report, f"{job.path}:{n}")
            continue
    report.lines += len(lines)
    report.by_source[spec.slug] = report.by_source.get(spec.slug, 0) + count
    return _file_state(job, end, len(data), len(lines), reader)


def _read_whole(job: FileJob, ctx: ReaderContext, run: _Run) -> FileState:
    spec, report = job.spec, run.report
    assert spec.read_whole is not None
    try:
        whole = spec.read_whole(ctx)
    except OSError as exc:
        _malformed(report, f"{job.path}: {exc.strerror}")
        return FileState(str(job.path), spec.slug, job.st.st_dev, job.st.st_ino, -1, 0, 0, None, -1.0)
    for where in whole.malformed:
        _malformed(report, where)
    for item in whole.items:
        try:
            run.add(spec, item)
        except MalformedRecord:
            _malformed(report, f"{job.path}:{getattr(item, 'message_id', '') or '?'}")
    if whole.retracted:
        run.hours.update(int(t // 3600) for t in run.sink.delete_events(whole.retracted))
    report.bytes_read += job.st.st_size
    report.by_source[spec.slug] = report.by_source.get(spec.slug, 0) + len(whole.items)
    return FileState(str(job.path), spec.slug, job.st.st_dev, job.st.st_ino, job.st.st_size, job.st.st_size, 0,
                     None, job.st.st_mtime)
