"""Reads for the waste report (``analysis.cycles``): what each window is, and its readings over a period."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text

from quotawarden.store.analysis_queries import Key, Row, series
from quotawarden.store.engine import Store


def window_kinds(store: Store) -> dict[Key, tuple[int | None, str]]:
    """(nominal length, unit) of every known window, from its latest sample."""
    with store.engine.connect() as conn:
        rows = conn.execute(text('SELECT account_id, "window", window_length_s, unit FROM latest_samples'))
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def readings(store: Store, since_ts: float, until_ts: float, account_ids: Sequence[str],
             bucket_s: float = 900) -> dict[Key, list[Row]]:
    """Every window's readings of the given accounts in a range, one row per bucket and stated reset (the highest
    ratio of the bucket), oldest first (as ``analysis_queries.series``)."""
    return series(store, since_ts, until_ts, account_ids, bucket_s)


def paid_usage(store: Store, since_ts: float, until_ts: float, account_ids: Sequence[str]
               ) -> list[tuple[float, str, float]]:
    """(time, account id, cost) of every priced usage event of the given accounts in a range, oldest first."""
    if not account_ids:
        return []
    sql = text("SELECT ts, account_id, cost FROM usage_events WHERE ts >= :since AND ts < :until "
               "AND account_id IN :ids AND cost IS NOT NULL AND cost > 0 ORDER BY ts"
               ).bindparams(bindparam("ids", expanding=True))
    with store.engine.connect() as conn:
        return [(float(r[0]), str(r[1]), float(r[2]))
                for r in conn.execute(sql, {"since": since_ts, "until": until_ts, "ids": list(account_ids)})]
