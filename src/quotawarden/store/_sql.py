"""Small helpers the query modules share: time conversion, chunking, a transaction of one's own or the caller's."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

from quotawarden.store.db import Conn
from quotawarden.store.engine import Store


def ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def begin(store: Store, conn: Conn | None = None) -> AbstractContextManager[Conn]:
    """A transaction of its own, or the caller's (``conn``): several writes that must land together share one."""
    return store.begin() if conn is None else nullcontext(conn)

