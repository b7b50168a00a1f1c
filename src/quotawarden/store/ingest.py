"""Queries for agent-log ingestion: file positions, event upserts with the log dedup rules, hourly roll-ups.

Tables and the roll-up's meaning: ``store/schema_logs.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Integer, and_, case, cast, delete, func, literal_column, select, text

from quotawarden.domain import QuotaSample
from quotawarden.sources.log_tailer import FileState
from quotawarden.store import samples as samples_q
from quotawarden.store import schema
from quotawarden.store._sql import chunks, insert
from quotawarden.store.engine import Store
from quotawarden.store.schema_logs import ROLLUP_KEYS, ROLLUP_SUMS, log_files, usage_hourly

_BATCH = 5000
_TOKENS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
EVENT_COLUMNS = ("dedup_key", "ts", "provider", "model", "source", "account_id", "consumer", "project", "session",
                 "host", *ROLLUP_SUMS, "cost", "cost_recorded", "request_id")


def load_files(store: Store, host: str) -> dict[str, FileState]:
    t = log_files
    with store.engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.host == host)).fetchall()
    return {r.path: FileState(r.path, r.source, r.device, r.inode, r.size, r.offset, r.lines, r.head_hash,
                              r.mtime, r.state) for r in rows}


def save_files(store: Store, host: str, states: Sequence[FileState], now_ts: float) -> None:
    if not states:
        return
    rows = [{"host": host, "path": s.path, "source": s.source, "device": s.device, "inode": s.inode,
             "size": s.size, "offset": s.offset, "lines": s.lines, "head_hash": s.head_hash, "mtime": s.mtime,
             "state": s.state, "updated_ts": now_ts} for s in states]
    stmt = insert(store, log_files)
    stmt = stmt.on_conflict_do_update(
        index_elements=["host", "path"],
        set_={c: getattr(stmt.excluded, c) for c in ("source", "device", "inode", "size", "offset", "lines",
                                                     "head_hash", "mtime", "state", "updated_ts")})
    with store.engine.begin() as conn:
        for part in chunks(rows, _BATCH):
            conn.execute(stmt, part)


def forget_files(store: Store, host: str, paths: Iterable[str]) -> None:
    paths = list(paths)
    with store.engine.begin() as conn:
        for part in chunks(paths, 500):
            conn.execute(delete(log_files).where(and_(log_files.c.host == host, log_files.c.path.in_(part))))


def upsert_events(store: Store, rows: list[dict[str, Any]], on_conflict: str = "larger") -> None:
    """Insert events; on a known key keep the larger token total (``larger``) or the new copy (``replace``)."""
    if not rows:
        return
    t = schema.usage_events
    stmt = insert(store, t)
    new, old = stmt.excluded, t.c
    update = {c: getattr(new, c) for c in EVENT_COLUMNS if c != "dedup_key"}
    where = None
    if on_conflict == "larger":
        where = sum(getattr(new, c) for c in _TOKENS) > sum(getattr(old, c) for c in _TOKENS)  # type: ignore[arg-type]
    stmt = stmt.on_conflict_do_update(index_elements=["dedup_key"], set_=update, where=where)
    with store.engine.begin() as conn:
        for part in chunks(rows, _BATCH):
            conn.execute(stmt, part)


def keys_with_prefix(store: Store, prefixes: Iterable[str]) -> set[str]:
    """Which prefixes (``msg_id:``) some stored dedup key starts with: an indexed range scan each."""
    t = schema.usage_events
    found: set[str] = set()
    with store.engine.connect() as conn:
        for p in prefixes:
            hi = p[:-1] + chr(ord(p[-1]) + 1)
            if conn.execute(select(t.c.dedup_key).where(and_(t.c.dedup_key >= p, t.c.dedup_key < hi))
                            .limit(1)).first():
                found.add(p)
    return found


def delete_events(store: Store, keys: Sequence[str]) -> list[float]:
    """Remove events by key; returns their times (so the caller can rebuild those hours)."""
    t = schema.usage_events
    times: list[float] = []
    with store.engine.begin() as conn:
        for part in chunks(list(keys), 500):
            times += [r[0] for r in conn.execute(select(t.c.ts).where(t.c.dedup_key.in_(part)))]
            conn.execute(delete(t).where(t.c.dedup_key.in_(part)))
    return times


def hour_ranges(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted hour indexes -> [start, end) ranges of consecutive hours."""
    out: list[tuple[int, int]] = []
    for h in sorted(set(hours)):
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + 1)
        else:
            out.append((h, h + 1))
    return out


def rebuild_hours(store: Store, hours: Iterable[int]) -> int:
    """Recompute ``usage_hourly`` for these UTC hour indexes (epoch // 3600) from the raw log events."""
    e = schema.usage_events
    if store.dialect == "postgresql":
        hour = (func.floor(e.c.ts / 3600) * 3600).label("hour_ts")
    else:
        hour = (cast(e.c.ts / 3600, Integer) * 3600).label("hour_ts")
    zero = literal_column("0")
    auto = func.coalesce(e.c.cost_recorded, e.c.cost)
    cols = [hour, *(getattr(e.c, k) for k in ROLLUP_KEYS), func.count().label("events"),
            *(func.sum(getattr(e.c, s)).label(s) for s in ROLLUP_SUMS),
            func.coalesce(func.sum(e.c.cost), zero).label("cost_calc"),
            func.sum(case((e.c.cost.is_(None), 1), else_=0)).label("unknown_calc"),
            func.coalesce(func.sum(e.c.cost_recorded), zero).label("cost_recorded"),
            func.coalesce(func.sum(auto), zero).label("cost_auto"),
            func.sum(case((auto.is_(None), 1), else_=0)).label("unknown_auto"),
            func.min(e.c.ts).label("first_ts"), func.max(e.c.ts).label("last_ts")]
    names = ["hour_ts", *ROLLUP_KEYS, "events", *ROLLUP_SUMS, "cost_calc", "unknown_calc", "cost_recorded",
             "cost_auto", "unknown_auto", "first_ts", "last_ts"]
    written = 0
    with store.engine.begin() as conn:
        for a, b in hour_ranges(hours):
            lo, hi = a * 3600.0, b * 3600.0
            conn.execute(delete(usage_hourly).where(and_(usage_hourly.c.hour_ts >= lo, usage_hourly.c.hour_ts < hi)))
            q = (select(*cols).where(and_(e.c.source == "log", e.c.ts >= lo, e.c.ts < hi))
                 .group_by(text("1"), *(getattr(e.c, k) for k in ROLLUP_KEYS)))
            res = conn.execute(usage_hourly.insert().from_select(names, q))
            written += res.rowcount or 0
    return written


def hourly(store: Store, since_ts: float | None = None, until_ts: float | None = None) -> list[Any]:
    """Roll-up rows in a time range (whole hours overlapping it), oldest first."""
    t = usage_hourly
    cond = []
    if since_ts is not None:
        cond.append(t.c.last_ts >= since_ts)
    if until_ts is not None:
        cond.append(t.c.first_ts < until_ts)
    q = select(t).where(and_(*cond)) if cond else select(t)
    with store.engine.connect() as conn:
        return conn.execute(q.order_by(t.c.hour_ts)).fetchall()


class StoreLogSink:
    """The tailer's ``LogSink`` on a store, for one host."""

    def __init__(self, store: Store, host: str, now_ts: float) -> None:
        self.store, self.host, self.now_ts = store, host, now_ts

    def load_files(self) -> dict[str, FileState]:
        return load_files(self.store, self.host)

    def save_files(self, states: Sequence[FileState]) -> None:
        save_files(self.store, self.host, states, self.now_ts)

    def forget_files(self, paths: Iterable[str]) -> None:
        forget_files(self.store, self.host, paths)

    def upsert_events(self, rows: list[dict[str, Any]], on_conflict: str) -> None:
        upsert_events(self.store, rows, on_conflict)

    def keys_with_prefix(self, prefixes: Iterable[str]) -> set[str]:
        return keys_with_prefix(self.store, prefixes)

    def delete_events(self, keys: Sequence[str]) -> list[float]:
        return delete_events(self.store, keys)

    def write_samples(self, samples: list[QuotaSample]) -> None:
        samples_q.write_samples(self.store, samples)

    def rebuild_hours(self, hours: Iterable[int]) -> int:
        return rebuild_hours(self.store, hours)
