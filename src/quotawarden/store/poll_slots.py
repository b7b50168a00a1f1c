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
from typing import Any

from quotawarden.store import db
from quotawarden.store.engine import Store


@dataclass(frozen=True, slots=True)
class Claim:
    account_id: str
    slot_ts: float
    interval_s: float


def sync(store: Store, intervals: Mapping[str, float], now: float) -> None:
    """Make the slots match the pollable accounts: new ones are due now, gone ones are dropped."""
    with store.begin() as conn:
        have = {r.account_id: r.interval_s for r in conn.execute("SELECT account_id, interval_s FROM poll_slots")}
        new = [{"account_id": a, "interval_s": i, "slot_ts": now, "due_ts": now, "polls": 0}
               for a, i in intervals.items() if a not in have]
        if new:
            conn.executemany("INSERT INTO poll_slots (account_id, interval_s, slot_ts, due_ts, polls) "
                             "VALUES (:account_id, :interval_s, :slot_ts, :due_ts, :polls) "
                             "ON CONFLICT (account_id) DO NOTHING", new)
        changed = [{"a": a, "i": i} for a, i in intervals.items() if a in have and have[a] != i]
        if changed:
            conn.executemany("UPDATE poll_slots SET interval_s = :i WHERE account_id = :a", changed)
        gone = [a for a in have if a not in intervals]
        if gone:
            params: dict[str, Any] = {}
            conn.execute(f"DELETE FROM poll_slots WHERE account_id IN {db.in_list('a', gone, params)}", params)


def claim(store: Store, holder: str, now: float, *, lease_s: float, limit: int = 500) -> list[Claim]:
    sql = "SELECT account_id, slot_ts, interval_s FROM poll_slots WHERE due_ts <= :now ORDER BY due_ts LIMIT :limit"
    if store.dialect == "postgresql":
        sql += " FOR UPDATE SKIP LOCKED"
    with store.begin() as conn:
        rows = conn.rows(sql, {"now": now, "limit": limit})
        if rows:
            params: dict[str, Any] = {"due": now + lease_s, "holder": holder}
            ids = db.in_list("a", [r.account_id for r in rows], params)
            conn.execute(f"UPDATE poll_slots SET due_ts = :due, holder = :holder WHERE account_id IN {ids}", params)
    return [Claim(r.account_id, r.slot_ts, r.interval_s) for r in rows]


def next_slot(slot_ts: float, interval_s: float, now: float) -> float:
    """One interval on; if the daemon was down for longer, the first future slot (no catch-up burst)."""
    nxt = slot_ts + interval_s
    if nxt <= now:
        nxt = slot_ts + interval_s * (math.floor((now - slot_ts) / interval_s) + 1)
    return nxt


def complete(store: Store, claims: list[Claim], holder: str, now: float) -> None:
    rows = []
    for c in claims:
        nxt = next_slot(c.slot_ts, c.interval_s, now)
        rows.append({"a": c.account_id, "holder": holder, "nxt": nxt, "now": now})
    if not rows:
        return
    with store.begin() as conn:
        conn.executemany("UPDATE poll_slots SET slot_ts = :nxt, due_ts = :nxt, holder = NULL, polls = polls + 1, "
                         "last_ts = :now WHERE account_id = :a AND holder = :holder", rows)


def due_now(store: Store, account_ids: list[str], now: float) -> None:
    """``POST /v1/poll``: make these accounts due at once (their next slot counts from now)."""
    params: dict[str, Any] = {"now": now}
    ids = db.in_list("a", account_ids, params)
    with store.begin() as conn:
        conn.execute(f"UPDATE poll_slots SET slot_ts = :now, due_ts = :now WHERE account_id IN {ids} "
                     "AND holder IS NULL", params)


def counts(store: Store) -> dict[str, int]:
    with store.connect() as conn:
        return {r.account_id: r.polls for r in conn.execute("SELECT account_id, polls FROM poll_slots")}
