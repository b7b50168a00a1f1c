"""Opening a store: SQLite (WAL, zero set-up) or PostgreSQL, chosen by URL; migrations run on open."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from quotawarden.errors import StoreError


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


@dataclass
class Store:
    """A handle on one database. Query modules (``samples``, ``usage``, ...) take it as their first argument."""

    engine: Engine
    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> None:
        """One round trip to the database; raises when it cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the sample index's hot pages in memory on big writes
    cur.execute("PRAGMA foreign_keys=ON")
    # checkpoint the WAL every ~40 MB instead of 4 MB: a page written by several batches in a row is copied into
    # the database once, not once per batch (bench/store.py: ~15% more rows/s on big writes)
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.close()


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    url = normalise_url(url or os.environ.get("QUOTAWARDEN_DB_URL") or default_sqlite_url())
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                try:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create the folder for {path}: {exc.strerror}") from None
            engine = create_engine(url, connect_args={"timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                                   connect_args={"connect_timeout": 5})
        store = Store(engine=engine, url=url)
        with engine.connect():
            pass  # fail here, clearly, when the server is down or the file cannot be opened
        if migrate:
            from quotawarden.store.migrate import upgrade

            upgrade(engine)
        return store
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot open the database at {safe_url(url)}: {reason}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"database error at {safe_url(url)}: {exc}") from None


def safe_url(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"
