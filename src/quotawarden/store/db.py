"""The store's one way to run SQL: text with ``:name`` (a mapping) or ``?`` (a sequence) parameters, the same text on
both databases.

* SQLite runs on the standard library's ``sqlite3`` (a small pool of connections, WAL, the pragmas below): a
  long-running process on SQLite (``serve``, ``proxy``) never imports SQLAlchemy, which alone is ~14 MB of a
  daemon's resident memory (``bench/serve_rss.py``).
* PostgreSQL runs on psycopg 3 connections from SQLAlchemy's pool (pre-ping, sizes), the placeholders rewritten
  once per statement (``:name`` -> ``%(name)s``, ``?`` -> ``%s``, ``%`` -> ``%%``).

Rows come back as named tuples on both (``row.col``, ``row[0]``, ``row._asdict()``). What the two databases return
differently is evened out where it is read: :func:`money` (``Numeric``: a float on SQLite, a ``Decimal`` on
PostgreSQL, always a ``Decimal`` here) and :func:`from_json` (JSON columns: text on SQLite, parsed on PostgreSQL).
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Protocol

Params = Mapping[str, Any] | Sequence[Any] | None

# SQLite stores Numeric as REAL (as SQLAlchemy did: ``Numeric`` binds a Decimal as a float on SQLite)
sqlite3.register_adapter(Decimal, float)

SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "busy_timeout=10000",
    "cache_size=-65536",  # 64 MiB: keeps the sample index's hot pages in memory on big writes
    "foreign_keys=ON",
    # checkpoint the WAL every ~40 MB instead of 4 MB: a page written by several batches in a row is copied into
    # the database once, not once per batch (bench/store.py: ~15% more rows/s on big writes)
    "wal_autocheckpoint=10000",
)


class Result(Protocol):
    """What ``Conn.execute`` returns on either database (a subset of the DB-API cursor)."""

    @property
    def rowcount(self) -> int: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn:
    """One connection, in a transaction (:meth:`Store.begin`) or not (:meth:`Store.connect`)."""

    __slots__ = ("dialect", "raw")

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw, self.dialect = raw, dialect

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def execute(self, sql: str, params: Params = None) -> Result:
        if self.dialect == "sqlite":
            cur = self.raw.execute(sql, () if params is None else params)
            if cur.description is not None:  # rows are made when fetched: one named-tuple class per statement
                cur.row_factory = _sqlite_rows(tuple(d[0] for d in cur.description))
            return cur  # type: ignore[no-any-return]
        return self._pg(sql, params, _pg_row_factory)  # type: ignore[no-any-return]

    def _pg(self, sql: str, params: Params, row_factory: Any) -> Any:
        cur = self.raw.cursor() if row_factory is None else self.raw.cursor(row_factory=row_factory)
        if params is None:
            cur.execute(sql)  # no parameters: psycopg reads the text as it is
        else:
            cur.execute(pg_sql(sql), params)
        return cur

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        if self.dialect == "sqlite":
            self.raw.executemany(sql, rows)
            return
        with self.raw.cursor() as cur:
            cur.executemany(pg_sql(sql), list(rows))

    def tuples(self, sql: str, params: Params = None) -> Iterator[tuple[Any, ...]]:
        """Rows as plain tuples, for reads of many rows taken by position (a named tuple costs ~1 us a row)."""
        if self.dialect == "sqlite":
            return self.raw.execute(sql, () if params is None else params)  # type: ignore[no-any-return]
        return self._pg(sql, params, None)  # type: ignore[no-any-return]

    def rows(self, sql: str, params: Params = None) -> list[Any]:
        return self.execute(sql, params).fetchall()

    def one(self, sql: str, params: Params = None) -> Any:
        """The first row, or None."""
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row, or None."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]


def in_list(name: str, values: Iterable[Any], params: dict[str, Any]) -> str:
    """``(:name_0, :name_1, ...)`` for ``x IN ...``, the values added to ``params``; ``(NULL)`` (matches nothing)
    for no values. Callers chunk long lists (SQLite binds at most 32,766 values per statement)."""
    keys = []
    for i, v in enumerate(values):
        key = f"{name}_{i}"
        params[key] = v
        keys.append(":" + key)
    return "(" + (", ".join(keys) or "NULL") + ")"


def money(value: Any) -> Decimal | None:
    """A ``Numeric(18, 8)`` column as a Decimal on both databases (SQLite hands back a float; eight places, as
    SQLAlchemy's ``Numeric`` read it)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(f"{value:.8f}")


def to_json(value: Any) -> str | None:
    """A value for a JSON column (both databases take the text)."""
    return None if value is None else json.dumps(value)


def from_json(value: Any) -> Any:
    """A JSON column's value: SQLite returns the text, psycopg the parsed value."""
    return json.loads(value) if isinstance(value, str | bytes) else value


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|:(\w+)|\?|%")


@functools.lru_cache(maxsize=1024)
def pg_sql(sql: str) -> str:
    """SQL text with ``:name``/``?`` placeholders in psycopg's style (``%(name)s``/``%s``, a literal ``%`` as ``%%``);
    quoted text and ``::`` casts are left alone."""

    def swap(m: re.Match[str]) -> str:
        token = m.group(0)
        if m.group(1):
            return f"%({m.group(1)})s"
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token

    return _PLACEHOLDER.sub(swap, sql)


@functools.lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", names, rename=True)


@functools.lru_cache(maxsize=1024)
def _sqlite_rows(names: tuple[str, ...]) -> Any:
    make = _row_class(names)._make
    return lambda _cur, row: make(row)


def _pg_row_factory(cur: Any) -> Any:
    """psycopg's rows as the same named tuples (two unnamed ``sum(...)`` columns are fine: renamed ``_1``, ...)."""
    if cur.description is None:
        return tuple
    return _row_class(tuple(d.name for d in cur.description))._make


def open_sqlite(path: str, *, cache_kib: int | None = None) -> sqlite3.Connection:
    """A connection with the store's pragmas (``cache_kib``: a smaller page cache, for a writer that only appends);
    rows as plain tuples (``Conn.execute`` makes them named); usable from any thread (the pool hands it to one at a
    time)."""
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    if cache_kib is not None:
        conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
    return conn


class SqlitePool:
    """Idle connections to one SQLite file, handed to one thread at a time (a ``:memory:`` database is one shared
    connection)."""

    def __init__(self, path: str, *, size: int = 8, cache_kib: int | None = None) -> None:
        self.path, self.size, self.cache_kib = path, size, cache_kib
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._memory = None if path and path != ":memory:" else open_sqlite(":memory:")

    def get(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return open_sqlite(self.path, cache_kib=self.cache_kib)

    def put(self, conn: sqlite3.Connection, *, broken: bool = False) -> None:
        if conn is self._memory:
            return
        if broken:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        if self._memory is not None:
            self._memory.close()

    @contextmanager
    def connection(self, *, transaction: bool) -> Iterator[Conn]:
        raw = self.get()
        broken = False
        try:
            yield Conn(raw, "sqlite")
            if transaction:
                raw.commit()
        except BaseException:
            try:
                raw.rollback()
            except sqlite3.Error:
                broken = True
            raise
        finally:
            if raw.in_transaction and not broken:  # reads that opened one, or a commit that failed
                try:
                    raw.rollback()
                except sqlite3.Error:
                    broken = True
            self.put(raw, broken=broken)


@contextmanager
def pg_connection(engine: Any, *, transaction: bool) -> Iterator[Conn]:
    """A psycopg connection from SQLAlchemy's pool (returned to it, rolled back, at the end)."""
    fairy = engine.raw_connection()
    try:
        yield Conn(fairy.driver_connection, "postgresql")
        if transaction:
            fairy.commit()
    except BaseException:
        fairy.rollback()
        raise
    finally:
        fairy.close()
