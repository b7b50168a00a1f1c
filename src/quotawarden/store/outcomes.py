"""Hourly outcome counters per account (``outcome_hours``): written by the proxy and the poller, read as the
24-hour error rate that health weighs.

Counts are added with one upsert per (account, hour); a replayed spill chunk may count a few calls twice,
which an error rate over a day absorbs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, func, select

from quotawarden.store._sql import insert
from quotawarden.store.engine import Store
from quotawarden.store.health_inputs import MIN_CALLS
from quotawarden.store.health_inputs import error_rates as rates_from_counts
from quotawarden.store.schema_health import outcome_hours

HOUR = 3600
Counts = Mapping[tuple[str, int], tuple[int, int]]
"""(account id, hour start as epoch seconds) -> (answered, failed)."""


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
    t = outcome_hours
    rows = [{"account_id": a, "hour_ts": float(h), "ok": ok, "errors": err} for (a, h), (ok, err) in counts.items()]
    stmt = insert(store, t)
    stmt = stmt.on_conflict_do_update(index_elements=["account_id", "hour_ts"],
                                      set_={"ok": t.c.ok + stmt.excluded.ok,
                                            "errors": t.c.errors + stmt.excluded.errors})
    with store.engine.begin() as conn:
        conn.execute(stmt, sorted(rows, key=lambda r: (r["account_id"], r["hour_ts"])))


def error_rates(store: Store, since: float, *, min_calls: int = MIN_CALLS,
                account_ids: Iterable[str] | None = None) -> dict[str, float]:
    """Failed / all calls per account since ``since``, for accounts with at least ``min_calls`` calls (one
    failed probe out of three says little)."""
    t = outcome_hours
    q = (select(t.c.account_id, func.sum(t.c.ok), func.sum(t.c.errors))
         .where(t.c.hour_ts >= float(hour_of(since))).group_by(t.c.account_id))
    if account_ids is not None:
        q = q.where(t.c.account_id.in_(list(account_ids)))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return rates_from_counts(rows, min_calls)


def prune(store: Store, before: float) -> int:
    """Drop counts of hours before ``before`` (the daemon's nightly prune keeps ``keep_raw_days``)."""
    t = outcome_hours
    with store.engine.begin() as conn:
        return conn.execute(delete(t).where(t.c.hour_ts < float(hour_of(before)))).rowcount or 0
