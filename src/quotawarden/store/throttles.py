"""Throttled consumers (``consumer_throttles``): set by the ``throttle_consumers`` action, read by the proxy."""

from __future__ import annotations

from quotawarden.store.engine import Store


def hold(store: Store, consumer: str, until_ts: float, reason: str, now_ts: float) -> None:
    """Throttle ``consumer`` until ``until_ts`` (a later call extends it)."""
    with store.begin() as conn:
        conn.execute("INSERT INTO consumer_throttles (consumer, until_ts, reason, set_ts) "
                     "VALUES (:consumer, :until, :reason, :now) "
                     "ON CONFLICT (consumer) DO UPDATE SET until_ts = excluded.until_ts, reason = excluded.reason",
                     {"consumer": consumer, "until": until_ts, "reason": reason[:500], "now": now_ts})


def release(store: Store, consumer: str) -> bool:
    with store.begin() as conn:
        return bool(conn.execute("DELETE FROM consumer_throttles WHERE consumer = :consumer",
                                 {"consumer": consumer}).rowcount)


def active(store: Store, now_ts: float) -> dict[str, tuple[float, str]]:
    """consumer -> (until_ts, reason) for every throttle still in force."""
    with store.connect() as conn:
        rows = conn.rows("SELECT consumer, until_ts, reason FROM consumer_throttles WHERE until_ts > :now",
                         {"now": now_ts})
    return {c: (until, reason) for c, until, reason in rows}
