"""The append-only write path of a long-running writer (the proxy's flusher): a lean engine and fast usage rows.

It writes through an engine of its own on the service's database: on SQLite with a small page cache (the store's
64 MiB cache suits big imports and reports; a proxy that only appends would grow by that much over a long run,
measured 33 MB over 100,000 requests), and usage rows go in as plain DB-API statements (SQLAlchemy's per-row
parameter processing cost ~7% of the proxy's CPU under load).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event

from quotawarden.domain import UsageEvent
from quotawarden.store.engine import Store, open_store

_MAX_ROWS = 256  # x 19 columns stays far below SQLite's 32,766 bound variables
_CACHE_KIB = 4096
_USAGE_COLS = ("dedup_key", "ts", "provider", "model", "source", "account_id", "consumer", "project", "session",
               "host", "input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
               "cache_read_tokens", "reasoning_tokens", "cost", "cost_recorded", "request_id")


def open_appender(url: str) -> Store:
    """A second engine on an already migrated database, with a small page cache on SQLite."""
    store = open_store(url, migrate=False)
    if store.is_sqlite:  # on checkout: open_store may already have pooled a connection
        event.listen(store.engine, "checkout", _small_cache)
    return store


def _small_cache(dbapi_conn: Any, *_: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
    cur.close()


def append_usage(store: Store, events: Sequence[UsageEvent]) -> None:
    """Idempotent on the dedup key, like ``store.usage.write_usage``; tuples straight to the DB-API.

    On SQLite, multi-row ``INSERT ... VALUES (...), (...)`` statements in power-of-two sizes (a handful of
    distinct statements, all in sqlite3's statement cache): half the CPU of ``executemany`` per row (measured
    7.7 vs 16.3 us), and one GIL release per statement instead of one per row, so the writer thread hardly
    interrupts the event loop.
    """
    if not events:
        return
    money: Any = float if store.is_sqlite else (lambda d: d)  # SQLite stores Numeric as REAL, psycopg takes Decimal
    rows = [(e.dedup_key, e.ts.timestamp(), e.provider, e.model, e.source.value, e.account_id, e.consumer,
             e.project, e.session, e.host, e.input_tokens, e.output_tokens, e.cache_write_tokens,
             e.cache_write_1h_tokens, e.cache_read_tokens, e.reasoning_tokens,
             None if e.cost is None else money(e.cost),
             None if e.cost_recorded is None else money(e.cost_recorded), e.request_id) for e in events]
    with store.engine.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if store.is_sqlite:
                i = 0
                while i < len(rows):
                    n = min(_MAX_ROWS, 1 << ((len(rows) - i).bit_length() - 1))
                    cur.execute(_sqlite_insert(n), [v for row in rows[i:i + n] for v in row])
                    i += n
            else:
                marks = ", ".join(["%s"] * len(_USAGE_COLS))
                cur.executemany(f"INSERT INTO usage_events ({', '.join(_USAGE_COLS)}) VALUES ({marks}) "
                                "ON CONFLICT (dedup_key) DO NOTHING", rows)
        finally:
            cur.close()


@functools.cache
def _sqlite_insert(n: int) -> str:
    one = "(" + ", ".join(["?"] * len(_USAGE_COLS)) + ")"
    return f"INSERT OR IGNORE INTO usage_events ({', '.join(_USAGE_COLS)}) VALUES " + ", ".join([one] * n)
