"""Hourly outcome counters per account (``outcome_hours``): written by the proxy and the poller, read as the
24-hour error rate that health weighs.

Counts are added with one upsert per (account, hour); a replayed spill chunk may count a few calls twice,
which an error rate over a day absorbs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from quotawarden.store import db
from quotawarden.store._sql import chunks
from quotawarden.store.engine import Store
from quotawarden.store.health_inputs import MIN_CALLS
from quotawarden.store.health_inputs import error_rates as rates_from_counts

HOUR = 3600
Counts = Mapping[tuple[str, int], tuple[int, int]]
"""(account id, hour start as epoch seconds) -> (answered, failed)."""


_ADD = ("INSERT INTO outcome_hours (account_id, hour_ts, ok, errors) VALUES (:account_id, :hour_ts, :ok, :errors) "
        "ON CONFLICT (account_id, hour_ts) DO UPDATE SET ok = outcome_hours.ok + excluded.ok, "
        "errors = outcome_hours.errors + excluded.errors")
_IDS_PER_QUERY = 10000


def hour_of(ts: float) -> int:
    return int(ts) // HOUR * HOUR


def tally(outcomes: Iterable[tuple[str, float, bool]]) -> dict[tuple[str, int], tuple[int, int]]:
    """(account id, epoch seconds, failed) per call -> counts per account and hour."""
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for account_id, ts, failed in outcomes:
        key = (account_id, hour_of(ts))
        ok, err = out.get(key, (0, 0))
        out[key] = (ok, err + 1) if failed else (ok + 1, err)
    return out


def add(store: Store, counts: Counts) -> None:
    if not counts:
        return
    # in key order: concurrent writers take the rows' locks in the same order (no deadlock on PostgreSQL)
    rows = [{"account_id": a, "hour_ts": float(h), "ok": ok, "errors": err}
            for (a, h), (ok, err) in sorted(counts.items())]
    with store.begin() as conn:
        conn.executemany(_ADD, rows)


def error_rates(store: Store, since: float, *, min_calls: int = MIN_CALLS,
                account_ids: Iterable[str] | None = None) -> dict[str, float]:
    """Failed / all calls per account since ``since``, for accounts with at least ``min_calls`` calls (one
    failed probe out of three says little)."""
    sql = "SELECT account_id, SUM(ok) AS ok, SUM(errors) AS errors FROM outcome_hours WHERE hour_ts >= :since"
    since_hour = float(hour_of(since))
    with store.connect() as conn:
        if account_ids is None:
            rows = conn.rows(sql + " GROUP BY account_id", {"since": since_hour})
        else:
            rows = []
            for ids in chunks(list(dict.fromkeys(account_ids)), _IDS_PER_QUERY):  # an account in one chunk
                params: dict[str, Any] = {"since": since_hour}
                rows += conn.rows(f"{sql} AND account_id IN {db.in_list('a', ids, params)} GROUP BY account_id",
                                  params)
    return rates_from_counts(rows, min_calls)


def prune(store: Store, before: float) -> int:
    """Drop counts of hours before ``before`` (the daemon's nightly prune keeps ``keep_raw_days``)."""
    with store.begin() as conn:
        return conn.execute("DELETE FROM outcome_hours WHERE hour_ts < :before",
                            {"before": float(hour_of(before))}).rowcount or 0
