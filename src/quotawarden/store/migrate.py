"""Forward-only, named Alembic migrations that run on open.

The fast path reads ``alembic_version`` and the revision ids in ``migrations/versions`` without importing
Alembic, so a short-lived command (``statusline``) on an up-to-date database pays nothing.
Several branches may exist (one per feature); the store always upgrades to all heads.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager
from typing import Any, Protocol

from quotawarden.errors import SchemaTooNew, StoreError
from quotawarden.store.schema_snapshot import MIGRATIONS, known_revisions


class Store(Protocol):
    """What migrating needs of ``store.engine.Store`` (which opens the store and calls :func:`upgrade`)."""

    @property
    def engine(self) -> Any: ...

    def connect(self) -> AbstractContextManager[Any]: ...

_PG_LOCK_ID = 0x71_77_6D_69  # "qwmi": serialises migrations across replicas


def current_revisions(store: Store) -> set[str]:
    """The revisions the database is at (none for a new one), read without Alembic."""
    try:
        with store.connect() as conn:
            return {r[0] for r in conn.rows("SELECT version_num FROM alembic_version")}
    except sqlite3.Error:
        return set()
    except Exception as exc:  # psycopg's UndefinedTable, without importing psycopg here
        if type(exc).__name__ in ("UndefinedTable", "ProgrammingError"):
            return set()
        raise


def upgrade(store: Store) -> None:
    """Bring the schema of ``store`` to the newest revision (a no-op when it is there); Alembic (and SQLAlchemy)
    load only when there is something to do."""
    revs, heads = known_revisions()
    current = current_revisions(store)
    unknown = current - revs
    if unknown:
        raise SchemaTooNew(
            f"the database schema ({', '.join(sorted(unknown))}) is newer than this quotawarden knows; "
            "upgrade quotawarden (pip install -U quotawarden) or point it at another database"
        )
    if current == heads:
        return
    _run_alembic(store)


_ALEMBIC = threading.Lock()  # Alembic keeps its migration context in module globals: one run at a time


def _run_alembic(store: Store) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = store.engine
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    try:
        with _ALEMBIC, engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except SQLAlchemyError as exc:
        raise StoreError(f"migration failed: {exc}") from None
