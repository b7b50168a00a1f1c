"""Per-account poll slots shared by every replica: each account is polled once per interval, by one replica.

A replica *claims* due accounts (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer) by
pushing their ``due_ts`` to the end of a short claim; when the poll is done it *completes* them, which moves the
slot forward by exactly one interval. A replica that dies mid-poll leaves claims that lapse, and another replica
takes the accounts: nothing is missed and nothing is polled twice in one slot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from quotawarden.store._sql import insert
from quotawarden.store.engine import Store
from quotawarden.store.schema_daemon import poll_slots


@dataclass(frozen=True, slots=True)
class Claim:
    account_id: str
    slot_ts: float
    interval_s: float


def sync(store: Store, intervals: Mapping[str, float], now: float) -> None:
    """Make the slots match the pollable accounts: new ones are due now, gone ones are dropped."""
    t = poll_slots
    with store.engine.begin() as conn:
        have = {r.account_id: r.interval_s for r in conn.execute(select(t.c.account_id, t.c.interval_s))}
        new = [{"account_id": a, "interval_s": i, "slot_ts": now, "due_ts": now, "polls": 0}
               for a, i in intervals.items() if a not in have]
        if new:
            conn.execute(insert(store, t).on_conflict_do_nothing(index_elements=["account_id"]), new)
        for a, i in intervals.items():
            if a in have and have[a] != i:
                conn.execute(update(t).where(t.c.account_id == a).values(interval_s=i))
        gone = [a for a in have if a not in intervals]
        if gone:
            conn.execute(delete(t).where(t.c.account_id.in_(gone)))


def claim(store: Store, holder: str, now: float, *, lease_s: float, limit: int = 500) -> list[Claim]:
    t = poll_slots
    q = (select(t.c.account_id, t.c.slot_ts, t.c.interval_s).where(t.c.due_ts <= now)
         .order_by(t.c.due_ts).limit(limit))
    if store.dialect == "postgresql":
        q = q.with_for_update(skip_locked=True)
    with store.engine.begin() as conn:
        rows = conn.execute(q).fetchall()
        if rows:
            conn.execute(update(t).where(t.c.account_id.in_([r.account_id for r in rows]))
                         .values(due_ts=now + lease_s, holder=holder))
    return [Claim(r.account_id, r.slot_ts, r.interval_s) for r in rows]


def next_slot(slot_ts: float, interval_s: float, now: float) -> float:
    """One interval on; if the daemon was down for longer, the first future slot (no catch-up burst)."""
    nxt = slot_ts + interval_s
    if nxt <= now:
        nxt = slot_ts + interval_s * (math.floor((now - slot_ts) / interval_s) + 1)
    return nxt


def complete(store: Store, claims: list[Claim], holder: str, now: float) -> None:
    t = poll_slots
    with store.engine.begin() as conn:
        for c in claims:
            nxt = next_slot(c.slot_ts, c.interval_s, now)
            conn.execute(update(t).where(t.c.account_id == c.account_id, t.c.holder == holder)
                         .values(slot_ts=nxt, due_ts=nxt, holder=None, polls=t.c.polls + 1, last_ts=now))


def due_now(store: Store, account_ids: list[str], now: float) -> None:
    """``POST /v1/poll``: make these accounts due at once (their next slot counts from now)."""
    t = poll_slots
    with store.engine.begin() as conn:
        conn.execute(update(t).where(t.c.account_id.in_(account_ids), t.c.holder.is_(None))
                     .values(slot_ts=now, due_ts=now))


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {r.account_id: r.polls for r in conn.execute(select(poll_slots.c.account_id, poll_slots.c.polls))}
