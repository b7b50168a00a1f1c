"""Seats that push to a hub: what a seat reads to push (after its cursor), the cursor itself, and on the hub the
record of each seat's pushes and the hourly call counts it replaces.

On the hub a push lands in the ordinary tables (accounts, account state, samples and latest samples, usage
events, outcome hours) in one transaction, written here with fixed statements on the driver's cursor (a hub takes
dozens of pushes a second); every write is keyed, so a push replayed (a lost acknowledgement, two replicas) stores
nothing twice.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from quotawarden.store import db
from quotawarden.store._sql import chunks
from quotawarden.store.engine import Store

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


_IN_CHUNK = 10_000
"""Values per ``IN (...)`` list (SQLite binds at most 32,766 per statement)."""


def cursor(store: Store, hub: str) -> Cursor:
    with store.connect() as conn:
        r = conn.one("SELECT samples_id, usage_ts, outcomes_hour, pushed_ts, pushes FROM hub_cursors WHERE hub = :hub",
                     {"hub": hub})
    return Cursor(int(r[0]), float(r[1]), float(r[2]), r[3], int(r[4])) if r else Cursor()


def _advance_sql(sqlite: bool) -> str:
    biggest = "max" if sqlite else "greatest"
    keep = ", ".join(f"{c} = {biggest}(hub_cursors.{c}, excluded.{c})"
                     for c in ("samples_id", "usage_ts", "outcomes_hour"))
    return ("INSERT INTO hub_cursors (hub, samples_id, usage_ts, outcomes_hour, pushed_ts, pushes) "
            "VALUES (:hub, :samples_id, :usage_ts, :outcomes_hour, :pushed_ts, :pushes) "
            f"ON CONFLICT (hub) DO UPDATE SET {keep}, pushed_ts = excluded.pushed_ts, pushes = hub_cursors.pushes + 1")


_ADVANCE = {"sqlite": _advance_sql(True), "postgresql": _advance_sql(False)}


def advance(store: Store, hub: str, to: Cursor) -> None:
    """Move the cursor forward (never back: a slower concurrent push cannot undo a faster one's progress)."""
    row = {"hub": hub, "samples_id": to.samples_id, "usage_ts": to.usage_ts, "outcomes_hour": to.outcomes_hour,
           "pushed_ts": to.pushed_ts, "pushes": to.pushes}
    with store.begin() as conn:
        conn.execute(_ADVANCE[conn.dialect], row)


def reset(store: Store, hub: str) -> None:
    """Forget how far this seat pushed: the next push sends everything again (the hub keeps it once)."""
    with store.begin() as conn:
        conn.execute("DELETE FROM hub_cursors WHERE hub = :hub", {"hub": hub})


def samples_after(store: Store, after_id: int, limit: int) -> list[tuple[int, tuple[Any, ...]]]:
    """(id, reading row) of the readings stored after ``after_id``, oldest first."""
    with store.connect() as conn:
        rows = conn.rows(f"SELECT id, {_q(SAMPLE_COLS)} FROM samples WHERE id > :after ORDER BY id LIMIT :limit",
                         {"after": after_id, "limit": limit})
    return [(int(r[0]), tuple(r[1:])) for r in rows]


def usage_after(store: Store, after: tuple[float, str], limit: int) -> list[tuple[Any, ...]]:
    """Usage event rows after (time, dedup key), in that order."""
    ts, key = after
    with store.connect() as conn:
        rows = conn.rows(f"SELECT {_q(USAGE_COLS)} FROM usage_events "
                         "WHERE ts > :ts OR (ts = :ts AND dedup_key > :key) ORDER BY ts, dedup_key LIMIT :limit",
                         {"ts": ts, "key": key, "limit": limit})
    # costs (Numeric): a Decimal on both databases
    return [(*r[:16], db.money(r[16]), db.money(r[17]), r[18]) for r in rows]


def outcome_hours_since(store: Store, hour_ts: float) -> list[tuple[str, float, int, int]]:
    with store.connect() as conn:
        rows = conn.rows("SELECT account_id, hour_ts, ok, errors FROM outcome_hours WHERE hour_ts >= :hour "
                         "ORDER BY hour_ts", {"hour": hour_ts})
    return [(str(r[0]), float(r[1]), int(r[2]), int(r[3])) for r in rows]


def account_rows(store: Store, ids: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    head = f"SELECT {_q(ACCOUNT_COLS)} FROM accounts"
    with store.connect() as conn:
        if ids is None:
            rows = conn.rows(head + " ORDER BY id")
        else:
            rows = []
            for part in chunks(list(ids), _IN_CHUNK):
                params: dict[str, Any] = {}
                rows += conn.rows(f"{head} WHERE id IN {db.in_list('ids', part, params)} ORDER BY id", params)
            rows.sort(key=lambda r: r[0])
    # tags (JSON): parsed on both databases
    return [(*r[:5], db.from_json(r[5])) for r in rows]


def state_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.connect() as conn:
        rows = conn.rows("SELECT account_id, outcome, reason, observed_ts, retry_ts FROM account_state "
                         "ORDER BY account_id")
    return [tuple(r) for r in rows]


def pending(store: Store, samples_id: int, usage_ts: float) -> dict[str, int]:
    """Readings and usage events not yet acknowledged by the hub (they wait in this store)."""
    with store.connect() as conn:
        n_s = conn.scalar("SELECT count(*) FROM samples WHERE id > :id", {"id": samples_id})
        n_u = conn.scalar("SELECT count(*) FROM usage_events WHERE ts > :ts", {"ts": usage_ts})
    return {"samples": int(n_s), "usage": int(n_u)}


# -- the hub's side -------------------------------------------------------------------------------------------


# One push is written with the driver's own cursor and fixed statements (no SQL built per push): on SQLite one
# multi-row statement per table (one step of the engine each, so the writing thread gives up and takes back the
# interpreter lock a handful of times per push, not once per row); on PostgreSQL a single statement whose parts
# insert into each table from JSON arrays, run as its own transaction: one round trip per push however many rows
# it carries, prepared once per connection (bench/hub.py).

ACCOUNT_ROW = tuple[str, str, str, str | None, str | None, str]
"""(id, provider, label, plan, pool, tags as JSON text) of a seat's account, prefixed."""
STATE_ROW = tuple[str, str, str, float | None, float | None]
"""(account id, outcome, reason, observed_ts, retry_ts)."""
OUTCOME_ROW = tuple[str, float, int, int]
"""(account id, hour_ts, ok, errors)."""

_ACC_SET = ("provider", "label", "plan", "pool", "base_url", "credential_ref", "tags", "origin")
_STATE_SET = ("outcome", "reason", "observed_ts", "retry_ts", "details")
_LATEST_SET = tuple(c for c in SAMPLE_COLS if c not in ("account_id", "window"))


def _q(cols: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in cols)


def _set(cols: Sequence[str]) -> str:
    return ", ".join(f'"{c}" = excluded."{c}"' for c in cols)


def _changed(table: str, cols: Sequence[str], pg: bool) -> str:
    """An upsert's WHERE: update only when something differs (a seat re-sends its accounts and states with every
    push; an unchanged row is not rewritten)."""
    if pg:
        return " OR ".join(f'{table}."{c}"::text IS DISTINCT FROM excluded."{c}"::text' if c in ("tags", "details")
                           else f'{table}."{c}" IS DISTINCT FROM excluded."{c}"' for c in cols)
    return " OR ".join(f'{table}."{c}" IS NOT excluded."{c}"' for c in cols)


_ACC_COLS = ("id", "provider", "label", "plan", "pool", "base_url", "credential_ref", "tags", "origin", "created_ts",
             "updated_ts")
_ACC_CONFLICT = (f" ON CONFLICT (id) DO UPDATE SET {_set((*_ACC_SET, 'updated_ts'))} WHERE "
                 + "{changed}")
_STATE_CONFLICT = f" ON CONFLICT (account_id) DO UPDATE SET {_set(_STATE_SET)} WHERE " + "{changed}"
_LATEST_CONFLICT = (f' ON CONFLICT (account_id, "window") DO UPDATE SET {_set(_LATEST_SET)} '
                    "WHERE latest_samples.observed_ts <= excluded.observed_ts")
_OUTCOME_CONFLICT = (" ON CONFLICT (account_id, hour_ts) DO UPDATE SET ok = excluded.ok, errors = excluded.errors "
                     "WHERE outcome_hours.ok <> excluded.ok OR outcome_hours.errors <> excluded.errors")
_SEAT_CONFLICT = (" ON CONFLICT (seat) DO UPDATE SET last_push_ts = excluded.last_push_ts, "
                  "last_push_id = excluded.last_push_id, interval_s = excluded.interval_s, sent_ts = excluded.sent_ts, "
                  'pushes = hub_seats.pushes + 1, "rows" = hub_seats."rows" + excluded."rows"')
_SEAT_COLS = 'seat, first_push_ts, last_push_ts, last_push_id, interval_s, sent_ts, pushes, "rows"'

_SQLITE: dict[str, tuple[str, str, str]] = {
    # table: (head, one row's placeholders, tail)
    "accounts": (f"INSERT INTO accounts ({_q(_ACC_COLS)}) VALUES ", "(?, ?, ?, ?, ?, NULL, NULL, ?, 'seat', ?, ?)",
                 _ACC_CONFLICT.format(changed=_changed("accounts", _ACC_SET, False))),
    "states": (f"INSERT INTO account_state (account_id, {_q(_STATE_SET)}) VALUES ", "(?, ?, ?, ?, ?, NULL)",
               _STATE_CONFLICT.format(changed=_changed("account_state", _STATE_SET, False))),
    "samples": (f"INSERT OR IGNORE INTO samples ({_q(SAMPLE_COLS)}) VALUES ",
                "(" + ", ".join("?" * len(SAMPLE_COLS)) + ")", ""),
    "latest": (f"INSERT INTO latest_samples ({_q(SAMPLE_COLS)}) VALUES ",
               "(" + ", ".join("?" * len(SAMPLE_COLS)) + ")", _LATEST_CONFLICT),
    "usage": (f"INSERT OR IGNORE INTO usage_events ({_q(USAGE_COLS)}) VALUES ",
              "(" + ", ".join("?" * len(USAGE_COLS)) + ")", ""),
    "outcomes": ("INSERT INTO outcome_hours (account_id, hour_ts, ok, errors) VALUES ", "(?, ?, ?, ?)",
                 _OUTCOME_CONFLICT),
    "seat": (f"INSERT INTO hub_seats ({_SEAT_COLS}) VALUES ", "(?, ?, ?, ?, ?, ?, 1, ?)", _SEAT_CONFLICT),
}
_SQLITE_ROWS = 200
"""Rows per SQLite statement (200 x 19 parameters: well under SQLite's limit of 32,766)."""


@functools.lru_cache(maxsize=256)
def _sqlite_statement(table: str, n: int) -> str:
    head, one, tail = _SQLITE[table]
    return head + ", ".join([one] * n) + tail


def _json_cols(types: Sequence[str]) -> str:
    """The columns of one row of a JSON array of rows (text as it is, the rest cast)."""
    return ", ".join(f"r->>{i}" if t == "text" else f"(r->>{i})::{t}" for i, t in enumerate(types))


_SAMPLE_TYPES = ("text", "text", "float8", "text", "text", "text", "float8", "float8", "float8", "float8", "float8",
                 "text", "int4")
_USAGE_TYPES = ("text", "float8", "text", "text", "text", "text", "text", "text", "text", "text", "int8", "int8",
                "int8", "int8", "int8", "int8", "numeric", "numeric", "text")


def _rows(param: str) -> str:
    return f"FROM json_array_elements(%({param})s::json) AS r"


_PG_PUSH = (
    # every part runs to completion whether or not anything reads it; the whole is one statement, so one
    # transaction: all of a push or none of it
    f"WITH accounts_in AS (INSERT INTO accounts ({_q(_ACC_COLS)}) SELECT r->>0, r->>1, r->>2, r->>3, r->>4, NULL, "
    f"NULL, r->5, 'seat', %(now)s, %(now)s {_rows('accounts')}"
    + _ACC_CONFLICT.format(changed=_changed("accounts", _ACC_SET, True)) + "), "
    f"states_in AS (INSERT INTO account_state (account_id, {_q(_STATE_SET)}) SELECT r->>0, r->>1, r->>2, "
    f"(r->>3)::float8, (r->>4)::float8, NULL {_rows('states')}"
    + _STATE_CONFLICT.format(changed=_changed("account_state", _STATE_SET, True)) + "), "
    f"samples_in AS (INSERT INTO samples ({_q(SAMPLE_COLS)}) SELECT {_json_cols(_SAMPLE_TYPES)} {_rows('samples')} "
    "ON CONFLICT DO NOTHING), "
    f"latest_in AS (INSERT INTO latest_samples ({_q(SAMPLE_COLS)}) SELECT {_json_cols(_SAMPLE_TYPES)} "
    f"{_rows('latest')}{_LATEST_CONFLICT}), "
    f"usage_in AS (INSERT INTO usage_events ({_q(USAGE_COLS)}) SELECT {_json_cols(_USAGE_TYPES)} {_rows('usage')} "
    "ON CONFLICT DO NOTHING), "
    "outcomes_in AS (INSERT INTO outcome_hours (account_id, hour_ts, ok, errors) SELECT "
    f"{_json_cols(('text', 'float8', 'int4', 'int4'))} {_rows('outcomes')}{_OUTCOME_CONFLICT}) "
    f"INSERT INTO hub_seats ({_SEAT_COLS}) VALUES (%(seat)s, %(now)s, %(now)s, %(push_id)s, %(interval_s)s, "
    f"%(sent_ts)s, 1, %(rows)s){_SEAT_CONFLICT}"
)
_ROWS_JSON = msgspec.json.Encoder(decimal_format="string").encode
"""Rows as one JSON text (floats in their shortest exact form, costs as decimal strings: nothing rounded)."""


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
    rows = {"accounts": _last_per_key(accounts), "states": _last_per_key(states),
            "samples": sorted(samples, key=lambda r: (r[0], r[1], r[2], r[3])), "usage": _last_per_key(usage),
            "outcomes": _last_per_key(outcomes, 2)}
    rows["latest"] = _latest(rows["samples"])
    seat_row = (seat, now, now, push_id, interval_s, sent_ts, len(samples) + len(usage))
    with store.connect() as conn:  # each writer runs its own transaction on the driver's connection
        if conn.dialect == "postgresql":
            _write_pg(conn.raw, now, rows, seat_row)
        else:
            _write_sqlite(conn.raw, now, rows, seat_row)


def _write_sqlite(raw: Any, now: float, rows: dict[str, list[tuple[Any, ...]]], seat_row: tuple[Any, ...]) -> None:
    rows["accounts"] = [(*a, now, now) for a in rows["accounts"]]
    # SQLite has no decimal: costs are stored as REAL, as everywhere else in this store
    rows["usage"] = [(*u[:16], _float(u[16]), _float(u[17]), u[18]) for u in rows["usage"]]
    rows["seat"] = [seat_row]
    cur = raw.cursor()
    try:
        cur.execute("BEGIN IMMEDIATE")  # the write lock up front: no upgrade from a read lock to fail half-way
        try:
            for table in ("accounts", "states", "samples", "latest", "usage", "outcomes", "seat"):
                todo = rows[table]
                for i in range(0, len(todo), _SQLITE_ROWS):
                    part = todo[i:i + _SQLITE_ROWS]
                    cur.execute(_sqlite_statement(table, len(part)), [v for r in part for v in r])
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
    finally:
        cur.close()


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def _write_pg(raw: Any, now: float, rows: dict[str, list[tuple[Any, ...]]], seat_row: tuple[Any, ...]) -> None:
    j = _ROWS_JSON
    params: dict[str, Any] = {k: j(v).decode() for k, v in rows.items() if k != "accounts"}
    params["accounts"] = j([(*a[:5], msgspec.Raw(a[5])) for a in rows["accounts"]]).decode()  # tags: JSON in JSON
    params.update(now=now, seat=seat_row[0], push_id=seat_row[3], interval_s=seat_row[4], sent_ts=seat_row[5],
                  rows=seat_row[6])
    raw.autocommit = True  # one statement, its own transaction: no BEGIN and COMMIT round trips
    try:
        with raw.cursor() as cur:
            cur.execute(_PG_PUSH, params)
    finally:
        raw.autocommit = False


def seats(store: Store) -> list[SeatRow]:
    with store.connect() as conn:
        rows = conn.rows(f"SELECT {_SEAT_COLS} FROM hub_seats ORDER BY seat")
    return [SeatRow(r[0], float(r[1]), float(r[2]), r[3], r[4], r[5], int(r[6]), int(r[7])) for r in rows]


def cost_by_seat_project(store: Store, seat_names: Sequence[str], since: float) -> list[tuple[str, str, float, int]]:
    """(seat, project, dollars, calls) of the seats' usage (``host`` = seat) since ``since``; the recorded cost
    where the event carries one, else the priced one."""
    if not seat_names:
        return []
    out: dict[tuple[str, str], tuple[float, int]] = {}
    with store.connect() as conn:
        for part in chunks(list(seat_names), _IN_CHUNK):
            params: dict[str, Any] = {"since": since}
            rows = conn.rows("SELECT host, project, sum(coalesce(cost_recorded, cost, 0)), count(*) FROM usage_events "
                             f"WHERE ts >= :since AND host IN {db.in_list('seats', part, params)} "
                             "GROUP BY host, project", params)
            for r in rows:
                key = (str(r[0]), str(r[1] or ""))  # no project and an empty one are one row
                usd, n = out.get(key, (0.0, 0))
                out[key] = (usd + float(db.money(r[2]) or 0), n + int(r[3]))
    return [(s, p, usd, n) for (s, p), (usd, n) in out.items()]


def count_rows(store: Store, prefix: str) -> dict[str, int]:
    """Readings and usage events stored under one seat's prefix (``<seat>/``): what tests and the bench check."""
    like = {"like": _escape_like(prefix) + "%"}
    with store.connect() as conn:
        n_s = conn.scalar("SELECT count(*) FROM samples WHERE account_id LIKE :like ESCAPE '/'", like)
        n_u = conn.scalar("SELECT count(*) FROM usage_events WHERE dedup_key LIKE :like ESCAPE '/'", like)
    return {"samples": int(n_s), "usage": int(n_u)}



def _escape_like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally (``/`` the escape character)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")
