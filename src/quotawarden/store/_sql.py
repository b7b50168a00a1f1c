"""Small helpers the query modules share: dialect-aware inserts and time conversion."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from quotawarden.store.engine import Store


def insert(store: Store, table: Table) -> Any:
    """An INSERT that understands ON CONFLICT on both backends."""
    mod = postgresql if store.dialect == "postgresql" else sqlite
    return mod.insert(table)


def ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def begin(store: Store, conn: Any = None) -> AbstractContextManager[Any]:
    """A transaction of its own, or the caller's (``conn``): several writes that must land together share one."""
    return store.engine.begin() if conn is None else nullcontext(conn)
