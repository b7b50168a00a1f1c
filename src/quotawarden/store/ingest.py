"""The agent-log sink on a ``Store``: ``store.logs_sql`` (plain DB-API SQL) over a DB-API connection of its own.

Tables and the roll-ups' meaning: ``store/schema_logs.py``.
"""

from __future__ import annotations

from typing import Any

from quotawarden.store.engine import Store
from quotawarden.store.logs_sql import LogDb, hour_ranges

__all__ = ["StoreLogSink", "hour_ranges", "rebuild_hours", "report_rows", "write_otel_rows"]


class StoreLogSink(LogDb):
    """The tailer's ``LogSink`` on a store, for one host (one DB-API connection, ``Store.raw_connection``, until
    ``close``)."""

    def __init__(self, store: Store, host: str, now_ts: float) -> None:
        super().__init__(store.raw_connection, store.dialect, host, now_ts)
        self.store = store


def report_rows(store: Store, sessions: bool, since_ts: float | None = None) -> list[tuple[Any, ...]]:
    db = StoreLogSink(store, "", 0.0)
    try:
        return db.report_rows(sessions, since_ts)
    finally:
        db.close()


def write_otel_rows(store: Store, rows: list[tuple[Any, ...]]) -> int:
    """Usage rows (``logs_sql.EVENT_COLUMNS`` order) received over OTLP: stored once per key, except calls a local
    log already holds (their number is returned). The caller rebuilds the roll-ups (:func:`rebuild_hours`)."""
    if not rows:
        return 0
    db = StoreLogSink(store, "", 0.0)
    try:
        twins = db.otel_twins(rows)
        db.upsert_events([r for r in rows if r[0] not in twins], "larger")
        return len(twins)
    finally:
        db.close()


def rebuild_hours(store: Store, hours: set[int], drop_twins: bool = False) -> int:
    """The roll-ups of these UTC hours (epoch // 3600) rebuilt from the raw events (``LogDb.rebuild_hours``)."""
    db = StoreLogSink(store, "", 0.0)
    try:
        return db.rebuild_hours(hours, drop_twins=drop_twins)
    finally:
        db.close()
