"""Leases in the ``leases`` table: how replicas on one database agree on who does a piece of work.

* :func:`acquire` -- a renewable lease (a singleton job runs only on the replica holding it).
* :func:`claim_once` -- a name that can be claimed once, ever (or until ``ttl`` lapses): use it so that an
  alert is sent by exactly one replica, e.g. ``claim_once(store, f"alert:{key}:{opened_ts}", holder)``.

Both are one atomic statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE expired), so they behave the same on
SQLite and PostgreSQL and need no advisory lock.
"""

from __future__ import annotations

import time

from quotawarden.store.engine import Store

FOREVER = 10 * 365 * 86400.0

_ACQUIRE = ("INSERT INTO leases (name, holder, expires_ts) VALUES (:name, :holder, :expires) "
            "ON CONFLICT (name) DO UPDATE SET holder = :holder, expires_ts = :expires "
            "WHERE leases.holder = :holder OR leases.expires_ts < :now")
_CLAIM_ONCE = ("INSERT INTO leases (name, holder, expires_ts) VALUES (:name, :holder, :expires) "
               "ON CONFLICT (name) DO UPDATE SET holder = :holder, expires_ts = :expires "
               "WHERE leases.expires_ts < :now RETURNING holder")


def acquire(store: Store, name: str, holder: str, ttl: float, *, now: float | None = None) -> bool:
    """Take or renew ``name`` for ``ttl`` seconds; True when ``holder`` holds it afterwards."""
    now = time.time() if now is None else now
    with store.begin() as conn:
        conn.execute(_ACQUIRE, {"name": name, "holder": holder, "expires": now + ttl, "now": now})
        return bool(conn.scalar("SELECT holder FROM leases WHERE name = :name", {"name": name}) == holder)


def claim_once(store: Store, name: str, holder: str, ttl: float = FOREVER, *, now: float | None = None) -> bool:
    """True for exactly one caller per ``name`` (until ``ttl`` lapses); a second call by the same holder is False."""
    now = time.time() if now is None else now
    with store.begin() as conn:
        rows = conn.rows(_CLAIM_ONCE, {"name": name, "holder": holder, "expires": now + ttl, "now": now})
    return bool(rows) and rows[0][0] == holder


def release(store: Store, name: str, holder: str) -> None:
    with store.begin() as conn:
        conn.execute("DELETE FROM leases WHERE name = :name AND holder = :holder", {"name": name, "holder": holder})


def holder_of(store: Store, name: str, *, now: float | None = None) -> str | None:
    now = time.time() if now is None else now
    with store.connect() as conn:
        holder = conn.scalar("SELECT holder FROM leases WHERE name = :name AND expires_ts >= :now",
                             {"name": name, "now": now})
    return None if holder is None else str(holder)


def purge_expired(store: Store, *, now: float | None = None) -> int:
    now = time.time() if now is None else now
    with store.begin() as conn:
        return conn.execute("DELETE FROM leases WHERE expires_ts < :now", {"now": now}).rowcount or 0
