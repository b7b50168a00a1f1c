"""Throttled consumers (``consumer_throttles``): set by the ``throttle_consumers`` action, read by the proxy."""

from __future__ import annotations

from sqlalchemy import delete, select

from quotawarden.store._sql import insert
from quotawarden.store.engine import Store
from quotawarden.store.schema_throttles import consumer_throttles


def hold(store: Store, consumer: str, until_ts: float, reason: str, now_ts: float) -> None:
    """Throttle ``consumer`` until ``until_ts`` (a later call extends it)."""
    t = consumer_throttles
    stmt = insert(store, t).values(consumer=consumer, until_ts=until_ts, reason=reason[:500], set_ts=now_ts)
    stmt = stmt.on_conflict_do_update(index_elements=["consumer"], set_={
        "until_ts": stmt.excluded.until_ts, "reason": stmt.excluded.reason})
    with store.engine.begin() as conn:
        conn.execute(stmt)


def release(store: Store, consumer: str) -> bool:
    with store.engine.begin() as conn:
        return bool(conn.execute(delete(consumer_throttles).where(consumer_throttles.c.consumer == consumer))
                    .rowcount)


def active(store: Store, now_ts: float) -> dict[str, tuple[float, str]]:
    """consumer -> (until_ts, reason) for every throttle still in force."""
    t = consumer_throttles
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.consumer, t.c.until_ts, t.c.reason).where(t.c.until_ts > now_ts)).all()
    return {c: (until, reason) for c, until, reason in rows}
