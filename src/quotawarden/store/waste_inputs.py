"""Reads for the waste report (``analysis.cycles``): what each window is, and its readings over a period."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quotawarden.store import db
from quotawarden.store._sql import chunks
from quotawarden.store.analysis_queries import Key, Row, series
from quotawarden.store.engine import Store

_IN_CHUNK = 10_000  # ids per IN list (SQLite binds at most 32,766 values per statement)


def window_kinds(store: Store) -> dict[Key, tuple[int | None, str]]:
    """(nominal length, unit) of every known window, from its latest sample."""
    with store.connect() as conn:
        rows = conn.execute('SELECT account_id, "window", window_length_s, unit FROM latest_samples')
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def readings(store: Store, since_ts: float, until_ts: float, account_ids: Sequence[str],
             bucket_s: float = 900) -> dict[Key, list[Row]]:
    """Every window's readings of the given accounts in a range, one row per bucket and stated reset (the highest
    ratio of the bucket), oldest first (as ``analysis_queries.series``)."""
    return series(store, since_ts, until_ts, account_ids, bucket_s)


def paid_usage(store: Store, since_ts: float, until_ts: float, account_ids: Sequence[str]
               ) -> list[tuple[float, str, float]]:
    """(time, account id, cost) of every priced usage event of the given accounts in a range, oldest first (the cost
    read as the ``Numeric`` column it is, eight places, then a float)."""
    if not account_ids:
        return []
    out: list[tuple[float, str, float]] = []
    parts = chunks(list(account_ids), _IN_CHUNK)
    with store.connect() as conn:
        for part in parts:
            params: dict[str, Any] = {"since": since_ts, "until": until_ts}
            sql = ("SELECT ts, account_id, cost FROM usage_events WHERE ts >= :since AND ts < :until "
                   f"AND account_id IN {db.in_list('ids', part, params)} AND cost IS NOT NULL AND cost > 0 "
                   "ORDER BY ts")
            out += [(float(r[0]), str(r[1]), float(db.money(r[2]) or 0)) for r in conn.execute(sql, params)]
    if len(parts) > 1:
        out.sort(key=lambda r: r[0])
    return out
