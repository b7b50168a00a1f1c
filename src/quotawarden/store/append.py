"""The append-only write path of a long-running writer (the proxy's flusher): a lean store and fast usage rows.

It writes through a store of its own on the service's database: on SQLite with a small page cache (the store's
64 MiB cache suits big imports and reports; a proxy that only appends would grow by that much over a long run,
measured 33 MB over 100,000 requests), and usage rows go in as plain DB-API statements straight to the driver's
cursor (per-row parameter processing in a layer above it cost ~7% of the proxy's CPU under load).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from quotawarden.domain import UsageEvent
from quotawarden.store.engine import Store, open_store
from quotawarden.store.usage import USAGE_COLS as _USAGE_COLS

_MAX_ROWS = 256  # x 19 columns stays far below SQLite's 32,766 bound variables
_CACHE_KIB = 4096


def open_appender(url: str) -> Store:
    """A second store on an already migrated database, with a small page cache on SQLite."""
    return open_store(url, migrate=False, sqlite_cache_kib=_CACHE_KIB)


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
    with store.begin() as conn:
        cur = conn.raw.cursor()
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
