"""Incremental agent-log ingestion: read only new bytes, apply each source's dedup rules, hand rows to a sink.

Per file the sink remembers (device, inode, size, offset, line, hash of the first block, reader state). A file
is skipped when device, inode, size and mtime are unchanged; read from its offset when it grew and its head is
the same; read from the start when it shrank (truncation), its inode or head changed (rotation, replaced in
place); forgotten when it disappeared (its events stay: they are history). A line is consumed only once it ends
in a newline, so a line still being written is read whole next time. Malformed lines are counted and named
(``file:line``), never fatal.

The sink (``quotawarden.store.ingest.StoreLogSink``) is passed in: sources sit below the store.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from quotawarden.domain import QuotaSample
from quotawarden.logsources.base import LogSourceSpec, MalformedRecord, Parsed, ReaderContext
from quotawarden.pricing import Pricer

HEAD_BYTES = 1024
FLUSH_EVENTS = 20000
MAX_NAMED_MALFORMED = 200
Progress = Callable[[int, int], None]
"""``(bytes_done, bytes_total)`` while reading."""


@dataclass(frozen=True, slots=True)
class FileState:
    path: str
    source: str
    device: int
    inode: int
    size: int
    offset: int
    lines: int
    head_hash: str | None
    mtime: float
    state: str | None = None


class LogSink(Protocol):
    def load_files(self) -> dict[str, FileState]: ...
    def save_files(self, states: Sequence[FileState]) -> None: ...
    def forget_files(self, paths: Iterable[str]) -> None: ...
    def upsert_events(self, rows: list[dict[str, Any]], on_conflict: str) -> None: ...
    def keys_with_prefix(self, prefixes: Iterable[str]) -> set[str]: ...
    def delete_events(self, keys: Sequence[str]) -> list[float]: ...
    def write_samples(self, samples: list[QuotaSample]) -> None: ...
    def rebuild_hours(self, hours: Iterable[int]) -> int: ...


@dataclass
class IngestReport:
    files_seen: int = 0
    files_read: int = 0
    files_reset: int = 0
    files_gone: int = 0
    bytes_read: int = 0
    lines: int = 0
    events: int = 0
    """Billable records offered to the store after in-run dedup."""
    duplicates: int = 0
    samples: int = 0
    malformed: int = 0
    malformed_at: list[str] = field(default_factory=list)
    unpriced_models: set[str] = field(default_factory=set)
    by_source: dict[str, int] = field(default_factory=dict)
    hours_rebuilt: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["unpriced_models"] = sorted(self.unpriced_models)
        return d


@dataclass
class _Job:
    spec: LogSourceSpec
    root: Path
    path: Path
    st: os.stat_result
    offset: int
    lines: int
    state: dict[str, Any]
    head: str | None


def head_hash(path: Path, n: int = HEAD_BYTES) -> str:
    with open(path, "rb") as f:
        data = f.read(n)
    return f"{len(data)}:{hashlib.blake2b(data, digest_size=16).hexdigest()}"


def _same_head(path: Path, stored: str | None) -> bool:
    if not stored:
        return False
    n = int(stored.split(":", 1)[0])
    return head_hash(path, n) == stored


def plan(specs: Sequence[LogSourceSpec], roots: Mapping[str, list[Path]], known: Mapping[str, FileState],
         report: IngestReport) -> tuple[list[_Job], list[str]]:
    """Which files need reading and from where; which known files are gone."""
    jobs: list[_Job] = []
    seen: set[str] = set()
    for spec in specs:
        for root in roots.get(spec.slug, []):
            if not root.is_dir():
                continue
            for path in spec.discover(root):
                key = str(path)
                if key in seen:
                    continue
                seen.add(key)
                try:
                    st = path.stat()
                except OSError:
                    continue
                report.files_seen += 1
                job = _decide(spec, root, path, st, known.get(key), report)
                if job is not None:
                    jobs.append(job)
    slugs = {s.slug for s in specs}
    gone = [p for p, f in known.items() if p not in seen and f.source in slugs and not os.path.exists(p)]
    report.files_gone = len(gone)
    return jobs, gone


def _decide(spec: LogSourceSpec, root: Path, path: Path, st: os.stat_result, old: FileState | None,
            report: IngestReport) -> _Job | None:
    if old and (old.device, old.inode, old.size, old.mtime) == (st.st_dev, st.st_ino, st.st_size, st.st_mtime):
        return None
    fresh = _Job(spec, root, path, st, 0, 0, {}, None)
    if old is None or spec.kind == "whole":
        return fresh
    if (old.device, old.inode) != (st.st_dev, st.st_ino) or st.st_size < old.offset \
            or not _same_head(path, old.head_hash):
        report.files_reset += 1
        return fresh
    return _Job(spec, root, path, st, old.offset, old.lines, orjson.loads(old.state) if old.state else {},
                old.head_hash)


class _Run:
    """One ingestion run: in-run dedup buffers, then batched writes."""

    def __init__(self, sink: LogSink, pricer: Pricer, report: IngestReport, host: str | None) -> None:
        self.sink, self.pricer, self.report, self.host = sink, pricer, report, host
        self.pending: dict[str, dict[str, Parsed]] = {}
        self.sidechains: dict[str, Parsed] = {}
        self.main_messages: set[int] = set()
        self.samples: list[QuotaSample] = []
        self.hours: set[int] = set()

    def add(self, spec: LogSourceSpec, item: Any) -> None:
        if isinstance(item, QuotaSample):
            self.samples.append(item)
            return
        key = item.event.dedup_key
        if item.sidechain:
            cur = self.sidechains.get(key)
            if cur is None or _total(item) > _total(cur):
                self.sidechains[key] = item
            return
        self.main_messages.add(hash(item.message_id))
        bucket = self.pending.setdefault(spec.on_conflict, {})
        cur = bucket.get(key)
        if cur is None:
            bucket[key] = item
        else:
            self.report.duplicates += 1
            if spec.on_conflict == "replace" or _total(item) > _total(cur):
                bucket[key] = item
        if len(bucket) >= FLUSH_EVENTS:
            self.flush(spec.on_conflict)

    def flush(self, mode: str) -> None:
        items = self.pending.pop(mode, {})
        if items:
            self.sink.upsert_events([self.row(p) for p in items.values()], mode)
            self.report.events += len(items)

    def finish(self) -> None:
        for mode in list(self.pending):
            self.flush(mode)
        # a sidechain copy of a message already seen under another request id is a replay: keep the main copy
        side = [p for p in self.sidechains.values() if hash(p.message_id) not in self.main_messages]
        stored = self.sink.keys_with_prefix({p.message_id + ":" for p in side})
        keep = [p for p in side if p.message_id + ":" not in stored]
        self.report.duplicates += len(self.sidechains) - len(keep)
        if keep:
            self.sink.upsert_events([self.row(p) for p in keep], "larger")
            self.report.events += len(keep)
        if self.samples:
            self.sink.write_samples(self.samples)
            self.report.samples += len(self.samples)

    def row(self, p: Parsed) -> dict[str, Any]:
        e = p.event
        ts = e.ts.timestamp()
        h = int(ts // 3600)
        self.hours.update((h - 1, h, h + 1))  # the copy it replaces may sit in a neighbouring hour
        cost = self.pricer.cost(e.provider, e.model, ts, e.input_tokens, e.output_tokens, e.cache_write_tokens,
                                e.cache_write_1h_tokens, e.cache_read_tokens)
        if cost is None:
            self.report.unpriced_models.add(e.model)
        return {"dedup_key": e.dedup_key, "ts": ts, "provider": e.provider, "model": e.model, "source": "log",
                "account_id": e.account_id, "consumer": e.consumer, "project": e.project, "session": e.session,
                "host": e.host or self.host, "input_tokens": e.input_tokens, "output_tokens": e.output_tokens,
                "cache_write_tokens": e.cache_write_tokens, "cache_write_1h_tokens": e.cache_write_1h_tokens,
                "cache_read_tokens": e.cache_read_tokens, "reasoning_tokens": e.reasoning_tokens, "cost": cost,
                "cost_recorded": e.cost_recorded, "request_id": e.request_id}


def _total(p: Parsed) -> int:
    return p.event.total_tokens


def ingest(sink: LogSink, specs: Sequence[LogSourceSpec], roots: Mapping[str, list[Path]], *, pricer: Pricer,
           host: str, accounts: Mapping[str, str] | None = None, progress: Progress | None = None) -> IngestReport:
    """One incremental pass over every file of ``specs`` under ``roots`` (slug -> folders)."""
    started = time.perf_counter()
    report = IngestReport()
    jobs, gone = plan(specs, roots, sink.load_files(), report)
    run = _Run(sink, pricer, report, host)
    total = sum(j.st.st_size - j.offset for j in jobs)
    done = 0
    states: list[FileState] = []
    for job in jobs:
        account = (accounts or {}).get(job.spec.slug)
        ctx = ReaderContext(job.path, job.root, host, account, job.state)
        states.append(_read_whole(job, ctx, run) if job.spec.kind == "whole" else _read_append(job, ctx, run))
        done += job.st.st_size - job.offset
        if progress is not None:
            progress(done, total)
        report.files_read += 1
    run.finish()
    sink.save_files(states)
    if gone:
        sink.forget_files(gone)
    if run.hours:
        report.hours_rebuilt = sink.rebuild_hours(run.hours)
    report.seconds = time.perf_counter() - started
    return report


def _malformed(report: IngestReport, where: str) -> None:
    report.malformed += 1
    if len(report.malformed_at) < MAX_NAMED_MALFORMED:
        report.malformed_at.append(where)


def _read_append(job: _Job, ctx: ReaderContext, run: _Run) -> FileState:
    spec, report = job.spec, run.report
    assert spec.reader is not None
    reader = spec.reader(ctx)
    with open(job.path, "rb") as f:
        f.seek(job.offset)
        data = f.read(job.st.st_size - job.offset)
    end = data.rfind(b"\n") + 1  # only whole lines; a line being written waits for its newline
    report.bytes_read += end
    lines = data[:end].split(b"\n")
    lines.pop()
    hint = spec.usage_hint
    add, feed = run.add, reader.feed
    n = job.lines
    count = 0
    for n, line in enumerate(lines, job.lines + 1):
        if hint is not None and hint not in line:
            continue
        try:
            items = feed(line)
        except MalformedRecord:
            if line.strip():
                _malformed(report, f"{job.path}:{n}")
            continue
        for item in items:
            add(spec, item)
            count += 1
    n = job.lines + len(lines)
    report.lines += len(lines)
    report.by_source[spec.slug] = report.by_source.get(spec.slug, 0) + count
    head = job.head if job.offset else (head_hash(job.path) if end else None)
    return FileState(str(job.path), spec.slug, job.st.st_dev, job.st.st_ino, job.offset + end, job.offset + end,
                     n, head, job.st.st_mtime if end == len(data) else -1.0, orjson.dumps(reader.state()).decode())


def _read_whole(job: _Job, ctx: ReaderContext, run: _Run) -> FileState:
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
        run.add(spec, item)
    if whole.retracted:
        run.hours.update(int(t // 3600) for t in run.sink.delete_events(whole.retracted))
    report.bytes_read += job.st.st_size
    report.by_source[spec.slug] = report.by_source.get(spec.slug, 0) + len(whole.items)
    return FileState(str(job.path), spec.slug, job.st.st_dev, job.st.st_ino, job.st.st_size, job.st.st_size, 0,
                     None, job.st.st_mtime)
