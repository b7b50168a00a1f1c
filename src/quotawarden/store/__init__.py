"""Stage 2: the store. SQLite by default, PostgreSQL for teams; one query module per concern; all SQL lives here.

``Store`` and ``open_store`` load SQLAlchemy when first asked for, so the plain-SQL modules (``logs_sql``, ``quick``)
stay importable by the fast paths without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quotawarden.store.engine import Store, open_store

__all__ = ["Store", "open_store"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from quotawarden.store import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
