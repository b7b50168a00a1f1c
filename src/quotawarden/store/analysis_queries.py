"""Reads for analysis, shaped so that the database does the heavy lifting.

Burn rates need only the recent part of each window's history: :func:`recent_buckets` range-scans the samples
unique index ``(account_id, window, observed_ts, ...)`` from each window's latest sample backwards over a look-back
that depends on the window's length, and averages samples into time buckets in SQL. So "status of 1,000 accounts"
moves a few tens of thousands of small rows, however long the history is. Rows come back as plain tuples whose
order matches ``analysis.burn.Point`` (t, ratio, used, remaining, limit, resets_t, weight).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from quotawarden.store import db
from quotawarden.store.engine import Store
from quotawarden.store.health_inputs import RATIO, lookback_for, recent_buckets_sql

Row = tuple[float, float | None, float | None, float | None, float | None, float | None, int]
Key = tuple[str, str]

def _bucket(store: Store) -> str:
    return "FLOOR(s.observed_ts / :b)" if store.dialect == "postgresql" else "CAST(s.observed_ts / :b AS INTEGER)"


def recent_buckets(store: Store, account_ids: Sequence[str] | None = None) -> dict[Key, list[Row]]:
    """Bucketed recent samples of every window (of the given accounts), oldest first per window."""
    out: dict[Key, list[Row]] = defaultdict(list)
    if account_ids is not None and not account_ids:
        return out  # an empty IN () is not portable SQL
    with store.connect() as conn:
        if store.dialect == "postgresql":  # group in memory (hash aggregate), not by an on-disk sort
            conn.execute("SET LOCAL work_mem = '64MB'")
        lengths = [r[0] for r in conn.execute("SELECT DISTINCT window_length_s FROM latest_samples")]
        for length in lengths:
            span, bucket = lookback_for(length)
            sql = recent_buckets_sql(store.dialect, length_known=length is not None, by_account=account_ids is not None)
            params: dict[str, Any] = {"lb": span, "b": bucket, "len": length}
            if account_ids is not None:
                sql = sql.replace(":ids", db.in_list("ids", account_ids, params))
            for r in conn.execute(sql, params):
                out[(r[0], r[1])].append((r[2], r[3], r[4], r[5], r[6], r[7], r[8]))
    for rows in out.values():
        rows.sort(key=lambda x: x[0])
    return dict(out)


def series(store: Store, since_ts: float, until_ts: float, account_ids: Sequence[str] | None = None,
           bucket_s: float = 3600) -> dict[Key, list[Row]]:
    """Every window's samples in a time range, one averaged row per bucket (and reset period)."""
    if account_ids is not None and not account_ids:
        return {}
    where = "s.observed_ts >= :since AND s.observed_ts < :until"
    params: dict[str, Any] = {"since": since_ts, "until": until_ts, "b": bucket_s}
    ids = ""
    if account_ids is not None:
        ids = db.in_list("ids", account_ids, params)
        where += f" AND s.account_id IN {ids}"
    sql = (f'SELECT s.account_id, s."window", AVG(s.observed_ts) AS t, MAX({RATIO}) AS ratio, '
           f'AVG(s.used) AS used_avg, AVG(s.remaining) AS remaining_avg, MAX(s."limit") AS limit_max, '
           f'MAX(s.resets_ts) AS resets_t, COUNT(*) AS weight FROM samples s WHERE {where} '
           f'GROUP BY s.account_id, s."window", s.resets_ts, {_bucket(store)}')
    out: dict[Key, list[Row]] = defaultdict(list)
    with store.connect() as conn:
        for r in conn.execute(sql, params):
            out[(r[0], r[1])].append((r[2], r[3], r[4], r[5], r[6], r[7], r[8]))
        for r in conn.execute(_rollups(ids), params):
            # hours whose raw samples were pruned survive as hourly roll-ups (see store.rollups)
            out[(r[0], r[1])].append((r[2] + 1800, r[3], r[4], r[5], r[6], r[7], r[8]))
    for rows in out.values():
        rows.sort(key=lambda x: x[0])
    return dict(out)


def _rollups(ids: str) -> str:
    """``ids``: the ``(...)`` list of account ids to keep, or empty for all."""
    where = "hour_ts >= :since AND hour_ts < :until" + (f" AND account_id IN {ids}" if ids else "")
    return ('SELECT account_id, "window", hour_ts, used_ratio_max, used_last, remaining_last, limit_last, '
            f"resets_ts_last, n FROM sample_rollups WHERE {where}")


def rejected_counts(store: Store, since_ts: float) -> dict[str, tuple[int, int]]:
    """Per account: (samples the provider marked ``rejected``, all samples) since a time; an error-rate proxy."""
    sql = ("SELECT account_id, SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected, COUNT(*) AS n "
           "FROM samples WHERE observed_ts >= :since GROUP BY account_id")
    with store.connect() as conn:
        return {r[0]: (int(r[1] or 0), int(r[2])) for r in conn.execute(sql, {"since": since_ts})}


USAGE_COLUMNS = ("ts", "provider", "model", "account_id", "consumer", "project", "input_tokens", "output_tokens",
                 "cache_write_tokens", "cache_read_tokens", "cost")


def usage_rows(store: Store, since_ts: float, until_ts: float) -> list[tuple[Any, ...]]:
    """Usage events in a range as tuples in :data:`USAGE_COLUMNS` order (cost is Decimal or None)."""
    cols = ", ".join(f'"{c}"' for c in USAGE_COLUMNS)
    sql = f"SELECT {cols} FROM usage_events WHERE ts >= :since AND ts < :until ORDER BY ts"
    with store.connect() as conn:
        return [tuple(r) for r in conn.execute(sql, {"since": since_ts, "until": until_ts})]


def usage_hourly(store: Store, since_ts: float, until_ts: float, by: str = "provider"
                 ) -> list[tuple[str | None, float, int, float, int]]:
    """(group, hour start, calls, cost, tokens) per hour, grouped by ``provider``/``account_id``/``model``/...."""
    if by not in ("provider", "account_id", "model", "project", "consumer"):
        raise ValueError(f"cannot group usage by {by!r}")
    bucket = "FLOOR(ts / 3600)" if store.dialect == "postgresql" else "CAST(ts / 3600 AS INTEGER)"
    sql = (f'SELECT "{by}", {bucket} * 3600 AS hour_ts, COUNT(*) AS calls, COALESCE(SUM(cost), 0) AS cost, '
           f"SUM(input_tokens + output_tokens + cache_write_tokens + cache_read_tokens) AS tokens FROM usage_events "
           f'WHERE ts >= :since AND ts < :until GROUP BY "{by}", {bucket}')
    with store.connect() as conn:
        return [(r[0], float(r[1]), int(r[2]), float(r[3]), int(r[4] or 0))
                for r in conn.execute(sql, {"since": since_ts, "until": until_ts})]


def window_lengths(store: Store) -> dict[Key, int | None]:
    """Nominal length of every known window, from its latest sample."""
    with store.connect() as conn:
        rows = conn.execute('SELECT account_id, "window", window_length_s FROM latest_samples')
        return {(r[0], r[1]): r[2] for r in rows}


def counted_usage(store: Store, account_ids: Sequence[str], minute_since: float, day_since: float
                  ) -> dict[str, tuple[int, int, int, int]]:
    """account id -> (requests since ``minute_since``, their input tokens, requests since ``day_since``, of which
    forwarded by the proxy), from the usage events attributed to each account (``analysis.counting``)."""
    if not account_ids:
        return {}
    first = min(minute_since, day_since)
    params: dict[str, Any] = {"m": minute_since, "d": day_since, "f": first}
    sql = ("SELECT account_id, "
           "SUM(CASE WHEN ts >= :m THEN 1 ELSE 0 END) AS minute_calls, "
           "SUM(CASE WHEN ts >= :m THEN input_tokens + cache_read_tokens ELSE 0 END) AS minute_tokens, "
           "SUM(CASE WHEN ts >= :d THEN 1 ELSE 0 END) AS day_calls, "
           "SUM(CASE WHEN ts >= :d AND source = 'proxy' THEN 1 ELSE 0 END) AS day_proxied "
           f"FROM usage_events WHERE account_id IN {db.in_list('ids', account_ids, params)} AND ts >= :f "
           "GROUP BY account_id")
    with store.connect() as conn:
        rows = conn.execute(sql, params)
        return {str(r[0]): (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in rows}
