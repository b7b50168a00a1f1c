"""Forward-only, named Alembic migrations that run on open.

The fast path reads ``alembic_version`` and the revision ids in ``migrations/versions`` without importing
Alembic, so a short-lived command (``statusline``) on an up-to-date database pays nothing.
Several branches may exist (one per feature); the store always upgrades to all heads.
"""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from quotawarden.errors import SchemaTooNew, StoreError
from quotawarden.store.schema_snapshot import VERSIONS, known_revisions

_PG_LOCK_ID = 0x71_77_6D_69  # "qwmi": serialises migrations across replicas


def current_revisions(engine: Engine) -> set[str]:
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).fetchall()
        return {r[0] for r in rows}
    except SQLAlchemyError:
        return set()


def upgrade(engine: Engine) -> None:
    """Bring the schema behind ``engine`` to the newest revision (a no-op when it is there)."""
    revs, heads = known_revisions()
    current = current_revisions(engine)
    unknown = current - revs
    if unknown:
        raise SchemaTooNew(
            f"the database schema ({', '.join(sorted(unknown))}) is newer than this quotawarden knows; "
            "upgrade quotawarden (pip install -U quotawarden) or point it at another database"
        )
    if current == heads:
        return
    _run_alembic(engine)


_ALEMBIC = threading.Lock()  # Alembic keeps its migration context in module globals: one run at a time


def _run_alembic(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(VERSIONS.parent))
    try:
        with _ALEMBIC, engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except SQLAlchemyError as exc:
        raise StoreError(f"migration failed: {exc}") from None
