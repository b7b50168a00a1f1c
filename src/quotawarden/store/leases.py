"""Leases in the ``leases`` table: how replicas on one database agree on who does a piece of work.

* :func:`acquire` -- a renewable lease (a singleton job runs only on the replica holding it).
* :func:`claim_once` -- a name that can be claimed once, ever (or until ``ttl`` lapses): use it so that an
  alert is sent by exactly one replica, e.g. ``claim_once(store, f"alert:{key}:{opened_ts}", holder)``.

Both are one atomic statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE expired), so they behave the same on
SQLite and PostgreSQL and need no advisory lock.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, select

from quotawarden.store import schema
from quotawarden.store._sql import insert
from quotawarden.store.engine import Store

FOREVER = 10 * 365 * 86400.0


def acquire(store: Store, name: str, holder: str, ttl: float, *, now: float | None = None) -> bool:
    """Take or renew ``name`` for ``ttl`` seconds; True when ``holder`` holds it afterwards."""
    now = time.time() if now is None else now
    t = schema.leases
    ins = insert(store, t).values(name=name, holder=holder, expires_ts=now + ttl)
    stmt = ins.on_conflict_do_update(
        index_elements=["name"], set_={"holder": holder, "expires_ts": now + ttl},
        where=(t.c.holder == holder) | (t.c.expires_ts < now),
    )
    with store.engine.begin() as conn:
        conn.execute(stmt)
        return conn.execute(select(t.c.holder).where(t.c.name == name)).scalar() == holder


def claim_once(store: Store, name: str, holder: str, ttl: float = FOREVER, *, now: float | None = None) -> bool:
    """True for exactly one caller per ``name`` (until ``ttl`` lapses); a second call by the same holder is False."""
    now = time.time() if now is None else now
    t = schema.leases
    ins = insert(store, t).values(name=name, holder=holder, expires_ts=now + ttl)
    stmt = ins.on_conflict_do_update(
        index_elements=["name"], set_={"holder": holder, "expires_ts": now + ttl}, where=t.c.expires_ts < now,
    ).returning(t.c.holder)
    with store.engine.begin() as conn:
        return conn.execute(stmt).scalar() == holder


def release(store: Store, name: str, holder: str) -> None:
    t = schema.leases
    with store.engine.begin() as conn:
        conn.execute(delete(t).where(t.c.name == name, t.c.holder == holder))


def holder_of(store: Store, name: str, *, now: float | None = None) -> str | None:
    now = time.time() if now is None else now
    t = schema.leases
    with store.engine.connect() as conn:
        return conn.execute(select(t.c.holder).where(t.c.name == name, t.c.expires_ts >= now)).scalar()


def purge_expired(store: Store, *, now: float | None = None) -> int:
    now = time.time() if now is None else now
    with store.engine.begin() as conn:
        return conn.execute(delete(schema.leases).where(schema.leases.c.expires_ts < now)).rowcount or 0
