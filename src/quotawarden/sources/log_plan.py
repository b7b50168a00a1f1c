"""Which agent-log files need reading, and from where: the planning half of incremental ingestion.

A file is skipped when device, inode, size and mtime are unchanged; read from its offset when it grew and its head
is the same; read from the start when it shrank (truncation), its inode or head changed (rotation, replaced in
place); forgotten when it disappeared. ``log_tailer`` reads what the plan says.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from quotawarden.domain import FileState, QuotaSample
from quotawarden.logsources.base import LogSourceSpec

HEAD_BYTES = 1024


class LogSink(Protocol):
    def load_files(self) -> dict[str, FileState]: ...
    def save_files(self, states: Sequence[FileState]) -> None: ...
    def forget_files(self, paths: Iterable[str]) -> None: ...
    def upsert_events(self, rows: list[tuple[Any, ...]], on_conflict: str) -> None:
        """Rows in ``RECORD_FIELDS[:19]`` order (the ``usage_events`` columns)."""
    def keys_with_prefix(self, prefixes: Iterable[str]) -> set[str]: ...
    def delete_events(self, keys: Sequence[str]) -> list[float]: ...
    def write_samples(self, samples: list[QuotaSample]) -> None: ...
    def rebuild_hours(self, hours: Iterable[int]) -> int: ...
    def close(self) -> None: ...
    def bulk(self, new_bytes: int) -> AbstractContextManager[None]:
        """Around a run that reads ``new_bytes``: the sink may batch it as one bulk load."""


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
class FileJob:
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
         report: IngestReport) -> tuple[list[FileJob], list[str]]:
    """Which files need reading and from where; which known files are gone."""
    jobs: list[FileJob] = []
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
            report: IngestReport) -> FileJob | None:
    if old and (old.device, old.inode, old.size, old.mtime) == (st.st_dev, st.st_ino, st.st_size, st.st_mtime):
        return None
    fresh = FileJob(spec, root, path, st, 0, 0, {}, None)
    if old is None or spec.kind == "whole":
        return fresh
    if (old.device, old.inode) != (st.st_dev, st.st_ino) or st.st_size < old.offset \
            or not _same_head(path, old.head_hash):
        report.files_reset += 1
        return fresh
    return FileJob(spec, root, path, st, old.offset, old.lines, orjson.loads(old.state) if old.state else {},
                old.head_hash)
