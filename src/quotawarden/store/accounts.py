"""Accounts as the store knows them (config accounts are synced in; the proxy and the API add others)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update

from quotawarden.domain import Account, AccountState
from quotawarden.store import schema
from quotawarden.store._sql import begin, dt, insert, ts
from quotawarden.store.engine import Store
from quotawarden.store.health_inputs import KNOWN_ACCOUNTS
from quotawarden.store.rows import account_from_row, state_from_row


def upsert_accounts(store: Store, items: Iterable[Account], *, origin: str = "config",
                    fingerprints: dict[str, str] | None = None, conn: Any = None) -> None:
    """Insert or update accounts; a fingerprint already recorded is kept when none is given (the config sync at
    start-up resolves no keys)."""
    now = time.time()
    rows = [{
        "id": a.id, "provider": a.provider, "label": a.label, "plan": a.plan, "pool": a.pool,
        "base_url": a.base_url, "credential_ref": a.credential, "tags": dict(a.tags), "origin": origin,
        "fingerprint": (fingerprints or {}).get(a.id), "created_ts": now, "updated_ts": now,
    } for a in items]
    if not rows:
        return
    ins = insert(store, schema.accounts)
    cols = {c: getattr(ins.excluded, c) for c in rows[0] if c not in ("id", "created_ts")}
    cols["fingerprint"] = func.coalesce(ins.excluded.fingerprint, schema.accounts.c.fingerprint)
    stmt = ins.on_conflict_do_update(index_elements=["id"], set_=cols)
    with begin(store, conn) as c:
        c.execute(stmt, rows)


def record_fingerprints(store: Store, fingerprints: Mapping[str, str]) -> None:
    """Account id -> the fingerprint of its key, for accounts already stored (a configured account's key was
    resolved): a key presented later through the proxy or ``/v1/instances`` is then known as that account."""
    if not fingerprints:
        return
    t = schema.accounts
    with store.engine.begin() as conn:
        for account_id, fp in fingerprints.items():
            conn.execute(update(t).where(t.c.id == account_id, or_(t.c.fingerprint.is_(None), t.c.fingerprint != fp))
                         .values(fingerprint=fp))


def known_accounts(store: Store) -> list[tuple[Any, ...]]:
    """Every stored account as (id, provider, pool, origin, fingerprint, outcome, outcome time, newest reading
    time): what ``analysis.current`` decides on (the fast path reads the same SQL)."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(KNOWN_ACCOUNTS))]


def list_accounts(store: Store) -> list[Account]:
    t = schema.accounts
    with store.engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.id)).fetchall()
    return [account_from_row(r.id, r.provider, r.label, r.credential_ref, r.base_url, r.plan, r.pool, r.tags)
            for r in rows]


def account_by_fingerprint(store: Store, fingerprint: str) -> str | None:
    """The account whose key has this fingerprint; a configured account before one the store learnt of."""
    t = schema.accounts
    with store.engine.connect() as conn:
        return conn.execute(select(t.c.id).where(t.c.fingerprint == fingerprint)
                            .order_by(t.c.origin != "config", t.c.id).limit(1)).scalar()


def fingerprint_of(store: Store, account_id: str) -> str | None:
    """The fingerprint of an account's key, when the store knows it."""
    t = schema.accounts
    with store.engine.connect() as conn:
        fp = conn.execute(select(t.c.fingerprint).where(t.c.id == account_id)).scalar()
    return str(fp) if fp else None


def remove_account(store: Store, account_id: str) -> bool:
    with store.engine.begin() as conn:
        n = conn.execute(delete(schema.accounts).where(schema.accounts.c.id == account_id)).rowcount
        conn.execute(delete(schema.latest_samples).where(schema.latest_samples.c.account_id == account_id))
        conn.execute(delete(schema.account_state).where(schema.account_state.c.account_id == account_id))
    return bool(n)


def set_states(store: Store, states: Iterable[AccountState], details: dict[str, dict[str, Any]] | None = None,
               *, conn: Any = None) -> None:
    rows = [{"account_id": s.account_id, "outcome": s.outcome.value, "reason": s.reason,
             "observed_ts": ts(s.observed_at), "retry_ts": ts(s.retry_at),
             "details": (details or {}).get(s.account_id)} for s in states]
    if not rows:
        return
    ins = insert(store, schema.account_state)
    stmt = ins.on_conflict_do_update(index_elements=["account_id"], set_={
        c: getattr(ins.excluded, c) for c in rows[0] if c != "account_id"})
    with begin(store, conn) as c:
        c.execute(stmt, rows)


def states(store: Store) -> dict[str, AccountState]:
    t = schema.account_state
    with store.engine.connect() as conn:
        rows = conn.execute(select(t)).fetchall()
    return {r.account_id: state_from_row(r.account_id, r.outcome, r.reason, r.observed_ts, r.retry_ts) for r in rows}


def last_observed(store: Store) -> dict[str, datetime]:
    """When each account was last observed successfully (for the poll cache guard)."""
    t = schema.account_state
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.account_id, t.c.observed_ts).where(t.c.outcome == "OK")).fetchall()
    return {r.account_id: dt(r.observed_ts) for r in rows if r.observed_ts}  # type: ignore[misc]


def state_details(store: Store, account_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """account id -> the details its last probe stored (models, memory, MCP servers...); accounts without any are
    left out."""
    t = schema.account_state
    q = select(t.c.account_id, t.c.details)
    if account_ids is not None:
        q = q.where(t.c.account_id.in_(list(account_ids)))
    with store.engine.connect() as conn:
        rows = conn.execute(q).fetchall()
    return {r.account_id: dict(r.details) for r in rows if isinstance(r.details, dict) and r.details}
