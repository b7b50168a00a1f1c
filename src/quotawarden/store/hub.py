"""Seats that push to a hub: what a seat reads to push (after its cursor), the cursor itself, and on the hub the
record of each seat's pushes and the hourly call counts it replaces.

On the hub a push lands in the ordinary tables (accounts, account state, samples and latest samples, usage
events, outcome hours) in one transaction, written here with fixed statements on the driver's cursor (a hub takes
dozens of pushes a second); every write is keyed, so a push replayed (a lost acknowledgement, two replicas) stores
nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select

from quotawarden.store import schema
from quotawarden.store._sql import insert
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


# One push is written with the driver's own cursor: the statements below are fixed text (prepared once per
# connection by psycopg, compiled once by SQLite), so a push costs no SQL construction; on PostgreSQL each table
# is one statement over arrays (``unnest``) and all of them travel in one pipeline: a push is a single round trip
# to the server however many rows it carries (bench/hub.py).

ACCOUNT_ROW = tuple[str, str, str, str | None, str | None, str]
"""(id, provider, label, plan, pool, tags as JSON text) of a seat's account, prefixed."""
STATE_ROW = tuple[str, str, str, float | None, float | None]
"""(account id, outcome, reason, observed_ts, retry_ts)."""
OUTCOME_ROW = tuple[str, float, int, int]
"""(account id, hour_ts, ok, errors)."""

_ACC_SET = ("provider", "label", "plan", "pool", "base_url", "credential_ref", "tags", "origin")
_STATE_SET = ("outcome", "reason", "observed_ts", "retry_ts", "details")


def _q(cols: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in cols)


def _changed(table: str, cols: Sequence[str], pg: bool) -> str:
    """An upsert's WHERE: update only when something differs (a seat re-sends its accounts every push; an
    unchanged row is not rewritten)."""
    if pg:
        return " OR ".join(f'{table}."{c}"::text IS DISTINCT FROM excluded."{c}"::text' if c in ("tags", "details")
                           else f'{table}."{c}" IS DISTINCT FROM excluded."{c}"' for c in cols)
    return " OR ".join(f'{table}."{c}" IS NOT excluded."{c}"' for c in cols)


def _sqlite_sql() -> dict[str, str]:
    acc_cols = ("id", "provider", "label", "plan", "pool", "base_url", "credential_ref", "tags", "origin",
                "created_ts", "updated_ts")
    latest_set = [c for c in SAMPLE_COLS if c not in ("account_id", "window")]
    return {
        "accounts": f"INSERT INTO accounts ({_q(acc_cols)}) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, 'seat', ?, ?) "
                    f"ON CONFLICT (id) DO UPDATE SET "
                    + ", ".join(f'"{c}" = excluded."{c}"' for c in (*_ACC_SET, "updated_ts"))
                    + " WHERE " + _changed("accounts", _ACC_SET, False),
        "states": f"INSERT INTO account_state (account_id, {_q(_STATE_SET)}) VALUES (?, ?, ?, ?, ?, NULL) "
                  "ON CONFLICT (account_id) DO UPDATE SET "
                  + ", ".join(f'"{c}" = excluded."{c}"' for c in _STATE_SET)
                  + " WHERE " + _changed("account_state", _STATE_SET, False),
        "samples": f"INSERT OR IGNORE INTO samples ({_q(SAMPLE_COLS)}) VALUES ({', '.join('?' * len(SAMPLE_COLS))})",
        "latest": f"INSERT INTO latest_samples ({_q(SAMPLE_COLS)}) VALUES ({', '.join('?' * len(SAMPLE_COLS))}) "
                  "ON CONFLICT (account_id, \"window\") DO UPDATE SET "
                  + ", ".join(f'"{c}" = excluded."{c}"' for c in latest_set)
                  + " WHERE latest_samples.observed_ts <= excluded.observed_ts",
        "usage": f"INSERT OR IGNORE INTO usage_events ({_q(USAGE_COLS)}) VALUES ({', '.join('?' * len(USAGE_COLS))})",
        "outcomes": "INSERT INTO outcome_hours (account_id, hour_ts, ok, errors) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (account_id, hour_ts) DO UPDATE SET ok = excluded.ok, errors = excluded.errors "
                    "WHERE outcome_hours.ok IS NOT excluded.ok OR outcome_hours.errors IS NOT excluded.errors",
        "seat": _SEAT_UPSERT.replace("%s", "?"),
    }


_SAMPLE_TYPES = ("text", "text", "float8", "text", "text", "text", "float8", "float8", "float8", "float8", "float8",
                 "text", "int4")
_USAGE_TYPES = ("text", "float8", "text", "text", "text", "text", "text", "text", "text", "text", "int8", "int8",
                "int8", "int8", "int8", "int8", "numeric", "numeric", "text")


def _rows_of(types: Sequence[str]) -> str:
    """The columns of a JSON array of rows (one parameter: the driver sends one string, not one array per
    column; PostgreSQL takes it apart)."""
    cols = ", ".join(f"r->>{i}" if t == "text" else f"(r->>{i})::{t}" for i, t in enumerate(types))
    return f"SELECT {cols} FROM json_array_elements(%s::json) AS r"


def _pg_sql() -> dict[str, str]:
    latest_set = [c for c in SAMPLE_COLS if c not in ("account_id", "window")]
    acc = ("r->>0, r->>1, r->>2, r->>3, r->>4, NULL, NULL, r->5, 'seat', %s, %s FROM json_array_elements(%s::json) "
           "AS r")
    return {
        "accounts": "INSERT INTO accounts (id, provider, label, plan, pool, base_url, credential_ref, tags, origin, "
                    f"created_ts, updated_ts) SELECT {acc} ON CONFLICT (id) DO UPDATE SET "
                    + ", ".join(f'"{c}" = excluded."{c}"' for c in (*_ACC_SET, "updated_ts"))
                    + " WHERE " + _changed("accounts", _ACC_SET, True),
        "states": f"INSERT INTO account_state (account_id, {_q(_STATE_SET)}) "
                  "SELECT r->>0, r->>1, r->>2, (r->>3)::float8, (r->>4)::float8, NULL "
                  "FROM json_array_elements(%s::json) AS r ON CONFLICT (account_id) DO UPDATE SET "
                  + ", ".join(f'"{c}" = excluded."{c}"' for c in _STATE_SET)
                  + " WHERE " + _changed("account_state", _STATE_SET, True),
        "samples": f"INSERT INTO samples ({_q(SAMPLE_COLS)}) {_rows_of(_SAMPLE_TYPES)} ON CONFLICT DO NOTHING",
        "latest": f"INSERT INTO latest_samples ({_q(SAMPLE_COLS)}) {_rows_of(_SAMPLE_TYPES)} "
                  "ON CONFLICT (account_id, \"window\") DO UPDATE SET "
                  + ", ".join(f'"{c}" = excluded."{c}"' for c in latest_set)
                  + " WHERE latest_samples.observed_ts <= excluded.observed_ts",
        "usage": f"INSERT INTO usage_events ({_q(USAGE_COLS)}) {_rows_of(_USAGE_TYPES)} ON CONFLICT DO NOTHING",
        "outcomes": f"INSERT INTO outcome_hours (account_id, hour_ts, ok, errors) "
                    f"{_rows_of(('text', 'float8', 'int4', 'int4'))} ON CONFLICT (account_id, hour_ts) DO UPDATE SET "
                    "ok = excluded.ok, errors = excluded.errors "
                    "WHERE outcome_hours.ok <> excluded.ok OR outcome_hours.errors <> excluded.errors",
        "seat": _SEAT_UPSERT,
    }


_SEAT_UPSERT = ("INSERT INTO hub_seats (seat, first_push_ts, last_push_ts, last_push_id, interval_s, sent_ts, pushes, "
                '"rows") VALUES (%s, %s, %s, %s, %s, %s, 1, %s) ON CONFLICT (seat) DO UPDATE SET '
                "last_push_ts = excluded.last_push_ts, last_push_id = excluded.last_push_id, "
                "interval_s = excluded.interval_s, sent_ts = excluded.sent_ts, pushes = hub_seats.pushes + 1, "
                '"rows" = hub_seats."rows" + excluded."rows"')
_SQL = {"sqlite": _sqlite_sql(), "postgresql": _pg_sql()}


def _latest(samples: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The newest reading per (account, window); on a tie, the one offered last."""
    latest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for r in samples:
        key = (r[0], r[1])
        cur = latest.get(key)
        if cur is None or r[2] >= cur[2]:
            latest[key] = r
    return [latest[k] for k in sorted(latest)]


def _last_per_key(rows: Sequence[tuple[Any, ...]], width: int = 1) -> list[tuple[Any, ...]]:
    """One row per key (its first ``width`` fields), the last offered, in key order: an upsert may touch a row
    once per statement, and every writer takes its rows in the same order (no deadlock between replicas)."""
    return [r for _, r in sorted({r[:width]: r for r in rows}.items())]


def store_push(store: Store, seat: str, push_id: str, now: float, *, accounts: Sequence[ACCOUNT_ROW],
               states: Sequence[STATE_ROW], samples: Sequence[tuple[Any, ...]], usage: Sequence[tuple[Any, ...]],
               outcomes: Sequence[OUTCOME_ROW], interval_s: float | None, sent_ts: float | None) -> None:
    """One push, in one transaction (one commit, one flush to disk): accounts, states, readings (``SAMPLE_COLS``
    order), usage events (``USAGE_COLS`` order), call counts and the seat's push record land together or not at
    all. Every row is keyed: a replayed push stores nothing twice."""
    accounts = _last_per_key(accounts)
    states = _last_per_key(states)
    outcomes = _last_per_key(outcomes, 2)
    samples = sorted(samples, key=lambda r: (r[0], r[1], r[2], r[3]))
    latest = _latest(samples)
    usage = _last_per_key(usage)
    seat_row = (seat, now, now, push_id, interval_s, sent_ts, len(samples) + len(usage))
    sql = _SQL["postgresql" if store.dialect == "postgresql" else "sqlite"]
    with store.engine.connect() as sa_conn:
        raw: Any = sa_conn.connection.dbapi_connection
        if store.dialect == "postgresql":
            _write_pg(raw, sql, now, accounts, states, samples, latest, usage, outcomes, seat_row)
        else:
            _write_sqlite(raw, sql, now, accounts, states, samples, latest, usage, outcomes, seat_row)


def _write_sqlite(raw: Any, sql: dict[str, str], now: float, accounts: Sequence[ACCOUNT_ROW],
                  states: Sequence[STATE_ROW], samples: Sequence[tuple[Any, ...]], latest: Sequence[tuple[Any, ...]],
                  usage: Sequence[tuple[Any, ...]], outcomes: Sequence[OUTCOME_ROW], seat_row: tuple[Any, ...]) -> None:
    cur = raw.cursor()
    try:
        cur.execute("BEGIN IMMEDIATE")  # the write lock up front: no upgrade from a read lock to fail half-way
        try:
            if accounts:
                cur.executemany(sql["accounts"], [(*a, now, now) for a in accounts])
            if states:
                cur.executemany(sql["states"], states)
            if samples:
                cur.executemany(sql["samples"], samples)
                cur.executemany(sql["latest"], latest)
            if usage:  # SQLite has no decimal: costs are stored as REAL, as everywhere else in this store
                cur.executemany(sql["usage"], [(*u[:16], _float(u[16]), _float(u[17]), u[18]) for u in usage])
            if outcomes:
                cur.executemany(sql["outcomes"], outcomes)
            cur.execute(sql["seat"], seat_row)
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
    finally:
        cur.close()


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


_ROWS_JSON = msgspec.json.Encoder(decimal_format="string").encode
"""Rows as one JSON text (floats in their shortest exact form, costs as decimal strings: nothing rounded)."""


def _write_pg(raw: Any, sql: dict[str, str], now: float, accounts: Sequence[ACCOUNT_ROW],
              states: Sequence[STATE_ROW], samples: Sequence[tuple[Any, ...]], latest: Sequence[tuple[Any, ...]],
              usage: Sequence[tuple[Any, ...]], outcomes: Sequence[OUTCOME_ROW], seat_row: tuple[Any, ...]) -> None:
    j = _ROWS_JSON
    statements: list[tuple[str, Sequence[Any]]] = []
    if accounts:  # tags go as JSON inside the JSON (the column is json)
        statements.append((sql["accounts"], (now, now, j([(*a[:5], msgspec.Raw(a[5])) for a in accounts]).decode())))
    if states:
        statements.append((sql["states"], (j(states).decode(),)))
    if samples:
        statements.append((sql["samples"], (j(samples).decode(),)))
        statements.append((sql["latest"], (j(latest).decode(),)))
    if usage:
        statements.append((sql["usage"], (j(usage).decode(),)))
    if outcomes:
        statements.append((sql["outcomes"], (j(outcomes).decode(),)))
    statements.append((sql["seat"], seat_row))
    try:
        with raw.pipeline(), raw.cursor() as cur:  # BEGIN, every statement and COMMIT: one round trip
            for text_, params in statements:
                cur.execute(text_, params)
            raw.commit()
    except BaseException:
        raw.rollback()
        raise


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

