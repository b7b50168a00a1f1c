"""Opening a store: SQLite (WAL, zero set-up) or PostgreSQL, chosen by URL; migrations run on open.

Query modules run SQL text through :meth:`Store.begin` / :meth:`Store.connect` (``store.db``): plain ``sqlite3`` on
SQLite, so a process on SQLite loads SQLAlchemy only to migrate an old schema or when something asks for
:attr:`Store.engine` (PostgreSQL always has one: its pool).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from quotawarden.errors import StoreError
from quotawarden.store import db

if TYPE_CHECKING:
    from sqlalchemy import Engine


def default_sqlite_url() -> str:
    import platformdirs

    data = Path(platformdirs.user_data_dir("quotawarden"))
    data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data / 'quotawarden.db'}"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///path`` URL (``:memory:`` for ``sqlite://``)."""
    path = url.split("///", 1)[1] if "///" in url else ""
    return path.split("?", 1)[0] or ":memory:"


class Store:
    """A handle on one database. Query modules (``samples``, ``usage``, ...) take it as their first argument."""

    def __init__(self, url: str, *, sqlite_cache_kib: int | None = None, engine: Engine | None = None) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._pool = db.SqlitePool(sqlite_path(url), cache_kib=sqlite_cache_kib) if self.is_sqlite else None
        if engine is not None:
            self.__dict__["engine"] = engine

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @cached_property
    def engine(self) -> Engine:
        """A SQLAlchemy engine on this database (migrations, tests); on SQLite made when first asked for."""
        from sqlalchemy import create_engine, event

        if self.is_sqlite:
            engine = create_engine(self.url, connect_args={"timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(self.url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                             connect_args={"connect_timeout": 5})

    def begin(self) -> AbstractContextManager[db.Conn]:
        """A connection in a transaction, committed at the end (rolled back on an error)."""
        return self._connection(transaction=True)

    def connect(self) -> AbstractContextManager[db.Conn]:
        """A connection for reads."""
        return self._connection(transaction=False)

    def _connection(self, *, transaction: bool) -> AbstractContextManager[db.Conn]:
        if self._pool is not None:
            return self._pool.connection(transaction=transaction)
        return db.pg_connection(self.engine, transaction=transaction)

    def raw_connection(self) -> Any:
        """A DB-API connection of its own (the caller closes it)."""
        if self._pool is not None:
            return db.open_sqlite(self._pool.path)
        return self.engine.raw_connection()

    def ping(self) -> None:
        """One round trip to the database; raises when it cannot be reached."""
        with self.connect() as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    for pragma in db.SQLITE_PRAGMAS:
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def open_store(url: str | None = None, *, migrate: bool = True, sqlite_cache_kib: int | None = None) -> Store:
    """``sqlite_cache_kib``: a smaller page cache than the store's 64 MiB (a writer that only appends)."""
    url = normalise_url(url or os.environ.get("QUOTAWARDEN_DB_URL") or default_sqlite_url())
    if url.startswith("sqlite"):
        return _open_sqlite(url, migrate=migrate, cache_kib=sqlite_cache_kib)
    return _open_pg(url, migrate=migrate)


def _open_sqlite(url: str, *, migrate: bool, cache_kib: int | None) -> Store:
    path = sqlite_path(url)
    if path != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {path}: {exc.strerror}") from None
        if migrate and not os.path.exists(path):
            from quotawarden.store.schema_snapshot import create_sqlite

            create_sqlite(path)  # a new store from the schema snapshot (no Alembic); else the migrations build it
    store = Store(url, sqlite_cache_kib=cache_kib)
    try:
        store.ping()  # fail here, clearly, when the file cannot be opened
    except sqlite3.Error as exc:
        store.close()
        raise StoreError(f"cannot open the database at {safe_url(url)}: {exc}") from None
    if migrate:
        from quotawarden.store.migrate import upgrade

        upgrade(store)
    return store


def _open_pg(url: str, *, migrate: bool) -> Store:
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    store = Store(url)
    try:
        with store.engine.connect():
            pass  # fail here, clearly, when the server is down
        if migrate:
            from quotawarden.store.migrate import upgrade

            upgrade(store)
        return store
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot open the database at {safe_url(url)}: {reason}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"database error at {safe_url(url)}: {exc}") from None


def safe_url(url: str) -> str:
    """The URL without its password."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))
    except ValueError:
        return "<database>"

