"""Accounts as the store knows them (config accounts are synced in; the proxy and the API add others)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from quotawarden.domain import Account, AccountState
from quotawarden.store import db
from quotawarden.store._sql import begin, chunks, dt, ts
from quotawarden.store.db import Conn
from quotawarden.store.engine import Store
from quotawarden.store.health_inputs import KNOWN_ACCOUNTS
from quotawarden.store.rows import account_from_row, state_from_row

_ACCOUNT_COLS = ("id", "provider", "label", "plan", "pool", "base_url", "credential_ref", "tags", "origin",
                 "fingerprint", "created_ts", "updated_ts")
_UPSERT_ACCOUNT = (
    f"INSERT INTO accounts ({', '.join(_ACCOUNT_COLS)}) VALUES ({', '.join(['?'] * len(_ACCOUNT_COLS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ACCOUNT_COLS if c not in ("id", "created_ts", "fingerprint"))
    + ", fingerprint = COALESCE(excluded.fingerprint, accounts.fingerprint)"
)
_IN_CHUNK = 10_000  # ids per IN list (SQLite binds at most 32,766 values per statement)
_STATE_COLS = ("account_id", "outcome", "reason", "observed_ts", "retry_ts", "details")
_UPSERT_STATE = (
    f"INSERT INTO account_state ({', '.join(_STATE_COLS)}) VALUES ({', '.join(['?'] * len(_STATE_COLS))}) "
    "ON CONFLICT (account_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _STATE_COLS[1:])
)


def upsert_accounts(store: Store, items: Iterable[Account], *, origin: str = "config",
                    fingerprints: dict[str, str] | None = None, conn: Conn | None = None) -> None:
    """Insert or update accounts; a fingerprint already recorded is kept when none is given (the config sync at
    start-up resolves no keys)."""
    now = time.time()
    rows = [(a.id, a.provider, a.label, a.plan, a.pool, a.base_url, a.credential, db.to_json(dict(a.tags)), origin,
             (fingerprints or {}).get(a.id), now, now) for a in items]
    if not rows:
        return
    with begin(store, conn) as c:
        c.executemany(_UPSERT_ACCOUNT, rows)


def record_fingerprints(store: Store, fingerprints: Mapping[str, str]) -> None:
    """Account id -> the fingerprint of its key, for accounts already stored (a configured account's key was
    resolved): a key presented later through the proxy or ``/v1/instances`` is then known as that account."""
    if not fingerprints:
        return
    with store.begin() as conn:
        conn.executemany("UPDATE accounts SET fingerprint = :fp WHERE id = :id "
                         "AND (fingerprint IS NULL OR fingerprint != :fp)",
                         [{"id": account_id, "fp": fp} for account_id, fp in fingerprints.items()])


def known_accounts(store: Store) -> list[tuple[Any, ...]]:
    """Every stored account as (id, provider, pool, origin, fingerprint, outcome, outcome time, newest reading
    time): what ``analysis.current`` decides on (the fast path reads the same SQL)."""
    with store.connect() as conn:
        return [tuple(r) for r in conn.execute(KNOWN_ACCOUNTS)]


def list_accounts(store: Store) -> list[Account]:
    with store.connect() as conn:
        rows = conn.rows("SELECT id, provider, label, credential_ref, base_url, plan, pool, tags FROM accounts "
                         "ORDER BY id")
    return [account_from_row(*r) for r in rows]


def account_by_fingerprint(store: Store, fingerprint: str) -> str | None:
    """The account whose key has this fingerprint; a configured account before one the store learnt of."""
    with store.connect() as conn:
        found = conn.scalar("SELECT id FROM accounts WHERE fingerprint = ? "
                            "ORDER BY origin != 'config', id LIMIT 1", (fingerprint,))
    return None if found is None else str(found)


def fingerprint_of(store: Store, account_id: str) -> str | None:
    """The fingerprint of an account's key, when the store knows it."""
    with store.connect() as conn:
        fp = conn.scalar("SELECT fingerprint FROM accounts WHERE id = ?", (account_id,))
    return str(fp) if fp else None


def remove_account(store: Store, account_id: str) -> bool:
    with store.begin() as conn:
        n = conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,)).rowcount
        conn.execute("DELETE FROM latest_samples WHERE account_id = ?", (account_id,))
        conn.execute("DELETE FROM account_state WHERE account_id = ?", (account_id,))
    return bool(n)


def set_states(store: Store, states: Iterable[AccountState], details: dict[str, dict[str, Any]] | None = None,
               *, conn: Conn | None = None) -> None:
    rows = [(s.account_id, s.outcome.value, s.reason, ts(s.observed_at), ts(s.retry_at),
             db.to_json((details or {}).get(s.account_id))) for s in states]
    if not rows:
        return
    with begin(store, conn) as c:
        c.executemany(_UPSERT_STATE, rows)


def states(store: Store) -> dict[str, AccountState]:
    with store.connect() as conn:
        rows = conn.rows("SELECT account_id, outcome, reason, observed_ts, retry_ts FROM account_state")
    return {r.account_id: state_from_row(*r) for r in rows}


def last_observed(store: Store) -> dict[str, datetime]:
    """When each account was last observed successfully (for the poll cache guard)."""
    with store.connect() as conn:
        rows = conn.rows("SELECT account_id, observed_ts FROM account_state WHERE outcome = 'OK'")
    return {r.account_id: dt(r.observed_ts) for r in rows if r.observed_ts}  # type: ignore[misc]


def state_details(store: Store, account_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """account id -> the details its last probe stored (models, memory, MCP servers...); accounts without any are
    left out."""
    sql = "SELECT account_id, details FROM account_state"
    with store.connect() as conn:
        if account_ids is None:
            rows = conn.rows(sql)
        else:
            rows = []
            for part in chunks(list(account_ids), _IN_CHUNK):
                params: dict[str, Any] = {}
                rows += conn.rows(f"{sql} WHERE account_id IN {db.in_list('ids', part, params)}", params)
    out = {}
    for r in rows:
        details = db.from_json(r.details)
        if isinstance(details, dict) and details:
            out[r.account_id] = dict(details)
    return out

