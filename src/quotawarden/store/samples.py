"""Quota samples: idempotent batch writes, the latest value per account/window, and time ranges."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from quotawarden.domain import Provenance, QuotaSample, Source, Unit
from quotawarden.store import db
from quotawarden.store._sql import begin, chunks
from quotawarden.store.db import Conn
from quotawarden.store.engine import Store
from quotawarden.store.rows import SAMPLE_COLS, from_row

_IN_CHUNK = 10_000  # ids per IN list (SQLite binds at most 32,766 values per statement)
_COLS = SAMPLE_COLS
_COL_LIST = ", ".join(f'"{c}"' for c in _COLS)  # "window" and "limit" are SQL keywords


_VALUE: dict[Any, str] = {m: m.value for e in (Unit, Source, Provenance) for m in e}  # Enum.value is slow


def _tuple(s: QuotaSample) -> tuple[Any, ...]:
    v = _VALUE
    return (s.account_id, s.window, s.observed_at.timestamp(), v[s.source], v[s.provenance], v[s.unit],
            s.used_ratio, s.used, s.remaining, s.limit, None if s.resets_at is None else s.resets_at.timestamp(),
            s.status, s.window_length_s)


def write_samples(store: Store, items: Iterable[QuotaSample], *, conn: Conn | None = None) -> int:
    """Insert samples; a sample already stored (same account, window, time, source) is kept once.

    Returns the number of samples offered. The latest value per account/window is kept current in the same
    transaction (``conn``: the caller's), so "latest for every account" never scans the history.
    """
    rows = [_tuple(s) for s in items]
    if not rows:
        return 0
    latest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for r in rows:  # the newest per account/window; on a tie, the one offered last
        key = (r[0], r[1])
        cur = latest.get(key)
        if cur is None or r[2] >= cur[2]:
            latest[key] = r
    rows.sort(key=_KEY)  # in index order, inserts touch each part of the B-tree once: ~1.3x the write rate
    with begin(store, conn) as c:
        if c.dialect == "postgresql" and len(rows) > 500:
            _copy_pg(c, rows)
        else:
            _insert_many(c, rows)
        c.executemany(_UPSERT_LATEST, list(latest.values()))
    return len(rows)


_KEY = operator.itemgetter(0, 1, 2, 3)
_ROWS_PER_STATEMENT = 200  # 200 x 13 parameters: well under SQLite's limit of 32,766


def _insert_many(conn: Conn, rows: list[tuple[Any, ...]]) -> None:
    """Straight to the DB-API cursor (no placeholder rewriting per statement), in multi-row VALUES statements:
    they halve SQLite's per-row statement overhead."""
    sqlite = conn.is_sqlite
    one = "(" + ", ".join(["?" if sqlite else "%s"] * len(_COLS)) + ")"
    verb = "INSERT OR IGNORE INTO" if sqlite else "INSERT INTO"
    tail = "" if sqlite else " ON CONFLICT DO NOTHING"
    cur = conn.raw.cursor()
    try:
        full = len(rows) - len(rows) % _ROWS_PER_STATEMENT
        if full:
            sql = f"{verb} samples ({_COL_LIST}) VALUES {', '.join([one] * _ROWS_PER_STATEMENT)}{tail}"
            step, flat = _ROWS_PER_STATEMENT, chain.from_iterable
            cur.executemany(sql, [list(flat(rows[i:i + step])) for i in range(0, full, step)])
        if full < len(rows):
            cur.executemany(f"{verb} samples ({_COL_LIST}) VALUES {one}{tail}", rows[full:])
    finally:
        cur.close()


def _copy_pg(conn: Conn, rows: list[tuple[Any, ...]]) -> None:
    """COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING: idempotent and fast."""
    raw = conn.raw
    raw.execute("CREATE TEMP TABLE IF NOT EXISTS _samples_in (LIKE samples INCLUDING DEFAULTS) "
                "ON COMMIT DELETE ROWS")
    with raw.cursor() as cur:
        with cur.copy(f"COPY _samples_in ({_COL_LIST}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        cur.execute(f"INSERT INTO samples ({_COL_LIST}) SELECT {_COL_LIST} FROM _samples_in ON CONFLICT DO NOTHING")
        cur.execute("TRUNCATE _samples_in")


_UPSERT_LATEST = (
    f"INSERT INTO latest_samples ({_COL_LIST}) VALUES ({', '.join(['?'] * len(_COLS))}) "
    'ON CONFLICT (account_id, "window") DO UPDATE SET '
    + ", ".join(f'"{c}" = excluded."{c}"' for c in _COLS if c not in ("account_id", "window"))
    + " WHERE latest_samples.observed_ts <= excluded.observed_ts"
)


def latest(store: Store, account_ids: Sequence[str] | None = None) -> list[QuotaSample]:
    """The newest sample of every window of the given accounts (all accounts when None)."""
    sql = f"SELECT {_COL_LIST} FROM latest_samples"
    with store.connect() as conn:
        if account_ids is None:
            return [from_row(r) for r in conn.tuples(f'{sql} ORDER BY account_id, "window"')]
        parts = chunks(list(account_ids), _IN_CHUNK)
        found: list[QuotaSample] = []
        for part in parts:
            params: dict[str, Any] = {}
            where = f"WHERE account_id IN {db.in_list('ids', part, params)}"
            found += [from_row(r) for r in conn.tuples(f'{sql} {where} ORDER BY account_id, "window"', params)]
    if len(parts) > 1:
        found.sort(key=lambda s: (s.account_id, s.window))
    return found


def history(store: Store, account_id: str, window: str | None = None, *, since: datetime | None = None,
            until: datetime | None = None) -> list[QuotaSample]:
    """Samples of one account (optionally one window) in a time range, oldest first."""
    cond = ["account_id = :acc"]
    params: dict[str, Any] = {"acc": account_id}
    if window is not None:
        cond.append('"window" = :win')
        params["win"] = window
    if since is not None:
        cond.append("observed_ts >= :since")
        params["since"] = since.timestamp()
    if until is not None:
        cond.append("observed_ts <= :until")
        params["until"] = until.timestamp()
    sql = f"SELECT {_COL_LIST} FROM samples WHERE {' AND '.join(cond)} ORDER BY observed_ts"
    with store.connect() as conn:
        return [from_row(r) for r in conn.tuples(sql, params)]


def count(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.scalar("SELECT count(*) FROM samples"))
