"""Seats that push to a hub: what a seat reads to push (after its cursor), the cursor itself, and on the hub the
record of each seat's pushes and the hourly call counts it replaces.

Readings, usage events, accounts and account states are written on the hub by the ordinary query modules
(``samples``, ``usage``, ``accounts``); every write is keyed, so a push replayed (a lost acknowledgement, two
replicas) stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select

from quotawarden.domain import Account, AccountState, QuotaSample, UsageEvent
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from quotawarden.store import schema
from quotawarden.store import usage as usage_q
from quotawarden.store._sql import begin, insert
from quotawarden.store.engine import Store
from quotawarden.store.schema_health import outcome_hours
from quotawarden.store.schema_hub import hub_cursors, hub_seats

SAMPLE_COLS = ("account_id", "window", "observed_ts", "source", "provenance", "unit", "used_ratio", "used",
               "remaining", "limit", "resets_ts", "status", "window_length_s")
"""A pushed reading, as a row (the order of the payload's arrays)."""
USAGE_COLS = ("dedup_key", "ts", "provider", "model", "source", "account_id", "consumer", "project", "session",
              "host", "input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
              "cache_read_tokens", "reasoning_tokens", "cost", "cost_recorded", "request_id")
"""A pushed usage event, as a row: counts, models and costs, never a prompt, a response or a key."""
ACCOUNT_COLS = ("id", "provider", "label", "plan", "pool", "tags")
"""A pushed account: never its credential reference or base URL."""


@dataclass(frozen=True, slots=True)
class Cursor:
    samples_id: int = 0
    usage_ts: float = 0.0
    outcomes_hour: float = 0.0
    pushed_ts: float | None = None
    pushes: int = 0


@dataclass(frozen=True, slots=True)
class SeatRow:
    seat: str
    first_push_ts: float
    last_push_ts: float
    last_push_id: str
    interval_s: float | None
    sent_ts: float | None
    pushes: int
    rows: int


# -- the seat's side ------------------------------------------------------------------------------------------


def cursor(store: Store, hub: str) -> Cursor:
    t = hub_cursors
    with store.engine.connect() as conn:
        r = conn.execute(select(t.c.samples_id, t.c.usage_ts, t.c.outcomes_hour, t.c.pushed_ts, t.c.pushes)
                         .where(t.c.hub == hub)).first()
    return Cursor(int(r[0]), float(r[1]), float(r[2]), r[3], int(r[4])) if r else Cursor()


def advance(store: Store, hub: str, to: Cursor) -> None:
    """Move the cursor forward (never back: a slower concurrent push cannot undo a faster one's progress)."""
    t = hub_cursors
    row = {"hub": hub, "samples_id": to.samples_id, "usage_ts": to.usage_ts, "outcomes_hour": to.outcomes_hour,
           "pushed_ts": to.pushed_ts, "pushes": to.pushes}
    ins = insert(store, t)
    stmt = ins.on_conflict_do_update(index_elements=["hub"], set_={
        "samples_id": func.max(t.c.samples_id, ins.excluded.samples_id) if store.is_sqlite
        else func.greatest(t.c.samples_id, ins.excluded.samples_id),
        "usage_ts": func.max(t.c.usage_ts, ins.excluded.usage_ts) if store.is_sqlite
        else func.greatest(t.c.usage_ts, ins.excluded.usage_ts),
        "outcomes_hour": func.max(t.c.outcomes_hour, ins.excluded.outcomes_hour) if store.is_sqlite
        else func.greatest(t.c.outcomes_hour, ins.excluded.outcomes_hour),
        "pushed_ts": ins.excluded.pushed_ts, "pushes": t.c.pushes + 1})
    with store.engine.begin() as conn:
        conn.execute(stmt, row)


def reset(store: Store, hub: str) -> None:
    """Forget how far this seat pushed: the next push sends everything again (the hub keeps it once)."""
    with store.engine.begin() as conn:
        conn.execute(hub_cursors.delete().where(hub_cursors.c.hub == hub))


def samples_after(store: Store, after_id: int, limit: int) -> list[tuple[int, tuple[Any, ...]]]:
    """(id, reading row) of the readings stored after ``after_id``, oldest first."""
    t = schema.samples
    q = select(t.c.id, *(t.c[c] for c in SAMPLE_COLS)).where(t.c.id > after_id).order_by(t.c.id).limit(limit)
    with store.engine.connect() as conn:
        return [(int(r[0]), tuple(r[1:])) for r in conn.execute(q)]


def usage_after(store: Store, after: tuple[float, str], limit: int) -> list[tuple[Any, ...]]:
    """Usage event rows after (time, dedup key), in that order."""
    t = schema.usage_events
    ts, key = after
    q = (select(*(t.c[c] for c in USAGE_COLS))
         .where(or_(t.c.ts > ts, and_(t.c.ts == ts, t.c.dedup_key > key)))
         .order_by(t.c.ts, t.c.dedup_key).limit(limit))
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q)]


def outcome_hours_since(store: Store, hour_ts: float) -> list[tuple[str, float, int, int]]:
    t = outcome_hours
    q = select(t.c.account_id, t.c.hour_ts, t.c.ok, t.c.errors).where(t.c.hour_ts >= hour_ts).order_by(t.c.hour_ts)
    with store.engine.connect() as conn:
        return [(str(r[0]), float(r[1]), int(r[2]), int(r[3])) for r in conn.execute(q)]


def account_rows(store: Store, ids: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    t = schema.accounts
    q = select(*(t.c[c] for c in ACCOUNT_COLS)).order_by(t.c.id)
    if ids is not None:
        q = q.where(t.c.id.in_(list(ids)))
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q)]


def state_rows(store: Store) -> list[tuple[Any, ...]]:
    t = schema.account_state
    q = select(t.c.account_id, t.c.outcome, t.c.reason, t.c.observed_ts, t.c.retry_ts).order_by(t.c.account_id)
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q)]


def pending(store: Store, samples_id: int, usage_ts: float) -> dict[str, int]:
    """Readings and usage events not yet acknowledged by the hub (they wait in this store)."""
    s, u = schema.samples, schema.usage_events
    with store.engine.connect() as conn:
        n_s = conn.execute(select(func.count()).where(s.c.id > samples_id)).scalar_one()
        n_u = conn.execute(select(func.count()).where(u.c.ts > usage_ts)).scalar_one()
    return {"samples": int(n_s), "usage": int(n_u)}


# -- the hub's side -------------------------------------------------------------------------------------------


def set_outcome_hours(store: Store, rows: Iterable[tuple[str, float, int, int]], *, conn: Any = None) -> None:
    """A seat's counts per (account, hour) replace what the hub held: a replayed push counts nothing twice."""
    data = [{"account_id": a, "hour_ts": h, "ok": ok, "errors": err} for a, h, ok, err in rows]
    if not data:
        return
    ins = insert(store, outcome_hours)
    stmt = ins.on_conflict_do_update(index_elements=["account_id", "hour_ts"],
                                     set_={"ok": ins.excluded.ok, "errors": ins.excluded.errors})
    with begin(store, conn) as c:
        c.execute(stmt, sorted(data, key=lambda r: (r["account_id"], r["hour_ts"])))


def record_push(store: Store, seat: str, push_id: str, now: float, *, interval_s: float | None,
                sent_ts: float | None, rows: int, conn: Any = None) -> None:
    t = hub_seats
    ins = insert(store, t)
    stmt = ins.on_conflict_do_update(index_elements=["seat"], set_={
        "last_push_ts": ins.excluded.last_push_ts, "last_push_id": ins.excluded.last_push_id,
        "interval_s": ins.excluded.interval_s, "sent_ts": ins.excluded.sent_ts,
        "pushes": t.c.pushes + 1, "rows": t.c.rows + ins.excluded.rows})
    with begin(store, conn) as c:
        c.execute(stmt, {"seat": seat, "first_push_ts": now, "last_push_ts": now, "last_push_id": push_id,
                            "interval_s": interval_s, "sent_ts": sent_ts, "pushes": 1, "rows": rows})


def store_push(store: Store, seat: str, push_id: str, now: float, *, accounts: Sequence[Account],
               states: Sequence[AccountState], samples: Sequence[QuotaSample], usage: Sequence[UsageEvent],
               outcomes: Sequence[tuple[str, float, int, int]], interval_s: float | None,
               sent_ts: float | None) -> None:
    """One push, in one transaction (one commit, one flush to disk): accounts, states, readings, usage events,
    call counts and the seat's push record land together or not at all."""
    with store.engine.begin() as conn:
        if accounts:
            accounts_q.upsert_accounts(store, accounts, origin="seat", conn=conn)
        if states:
            accounts_q.set_states(store, states, conn=conn)
        samples_q.write_samples(store, samples, conn=conn)
        if usage:
            stmt = insert(store, schema.usage_events).on_conflict_do_nothing(index_elements=["dedup_key"])
            conn.execute(stmt, [usage_q._row(e) for e in usage])
        set_outcome_hours(store, outcomes, conn=conn)
        record_push(store, seat, push_id, now, interval_s=interval_s, sent_ts=sent_ts,
                    rows=len(samples) + len(usage), conn=conn)


def seats(store: Store) -> list[SeatRow]:
    t = hub_seats
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.seat, t.c.first_push_ts, t.c.last_push_ts, t.c.last_push_id, t.c.interval_s,
                                   t.c.sent_ts, t.c.pushes, t.c.rows).order_by(t.c.seat)).all()
    return [SeatRow(r[0], float(r[1]), float(r[2]), r[3], r[4], r[5], int(r[6]), int(r[7])) for r in rows]


def cost_by_seat_project(store: Store, seat_names: Sequence[str], since: float) -> list[tuple[str, str, float, int]]:
    """(seat, project, dollars, calls) of the seats' usage (``host`` = seat) since ``since``; the recorded cost
    where the event carries one, else the priced one."""
    if not seat_names:
        return []
    t = schema.usage_events
    dollars = func.sum(func.coalesce(t.c.cost_recorded, t.c.cost, 0))
    q = (select(t.c.host, t.c.project, dollars, func.count())
         .where(t.c.ts >= since, t.c.host.in_(list(seat_names))).group_by(t.c.host, t.c.project))
    out: dict[tuple[str, str], tuple[float, int]] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            key = (str(r[0]), str(r[1] or ""))  # no project and an empty one are one row
            usd, n = out.get(key, (0.0, 0))
            out[key] = (usd + float(r[2] or 0), n + int(r[3]))
    return [(s, p, usd, n) for (s, p), (usd, n) in out.items()]


def count_rows(store: Store, prefix: str) -> dict[str, int]:
    """Readings and usage events stored under one seat's prefix (``<seat>/``): what tests and the bench check."""
    s, u = schema.samples, schema.usage_events
    with store.engine.connect() as conn:
        n_s = conn.execute(select(func.count()).where(s.c.account_id.startswith(prefix, autoescape=True))).scalar_one()
        n_u = conn.execute(select(func.count()).where(u.c.dedup_key.startswith(prefix, autoescape=True))).scalar_one()
    return {"samples": int(n_s), "usage": int(n_u)}

