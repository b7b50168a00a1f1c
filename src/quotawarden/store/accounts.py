"""Accounts as the store knows them (config accounts are synced in; the proxy and the API add others)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from quotawarden.domain import Account, AccountState, Outcome
from quotawarden.store import schema
from quotawarden.store._sql import dt, insert, ts
from quotawarden.store.engine import Store


def upsert_accounts(store: Store, items: Iterable[Account], *, origin: str = "config",
                    fingerprints: dict[str, str] | None = None) -> None:
    now = time.time()
    rows = [{
        "id": a.id, "provider": a.provider, "label": a.label, "plan": a.plan, "pool": a.pool,
        "base_url": a.base_url, "credential_ref": a.credential, "tags": dict(a.tags), "origin": origin,
        "fingerprint": (fingerprints or {}).get(a.id), "created_ts": now, "updated_ts": now,
    } for a in items]
    if not rows:
        return
    ins = insert(store, schema.accounts)
    stmt = ins.on_conflict_do_update(index_elements=["id"], set_={
        c: getattr(ins.excluded, c) for c in rows[0] if c not in ("id", "created_ts")})
    with store.engine.begin() as conn:
        conn.execute(stmt, rows)


def list_accounts(store: Store) -> list[Account]:
    t = schema.accounts
    with store.engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.id)).fetchall()
    return [Account(id=r.id, provider=r.provider, label=r.label or "", credential=r.credential_ref,
                    base_url=r.base_url, plan=r.plan, pool=r.pool, tags=dict(r.tags or {})) for r in rows]


def account_by_fingerprint(store: Store, fingerprint: str) -> str | None:
    t = schema.accounts
    with store.engine.connect() as conn:
        return conn.execute(select(t.c.id).where(t.c.fingerprint == fingerprint)).scalar()


def remove_account(store: Store, account_id: str) -> bool:
    with store.engine.begin() as conn:
        n = conn.execute(delete(schema.accounts).where(schema.accounts.c.id == account_id)).rowcount
        conn.execute(delete(schema.latest_samples).where(schema.latest_samples.c.account_id == account_id))
        conn.execute(delete(schema.account_state).where(schema.account_state.c.account_id == account_id))
    return bool(n)


def set_states(store: Store, states: Iterable[AccountState], details: dict[str, dict[str, Any]] | None = None
               ) -> None:
    rows = [{"account_id": s.account_id, "outcome": s.outcome.value, "reason": s.reason,
             "observed_ts": ts(s.observed_at), "retry_ts": ts(s.retry_at),
             "details": (details or {}).get(s.account_id)} for s in states]
    if not rows:
        return
    ins = insert(store, schema.account_state)
    stmt = ins.on_conflict_do_update(index_elements=["account_id"], set_={
        c: getattr(ins.excluded, c) for c in rows[0] if c != "account_id"})
    with store.engine.begin() as conn:
        conn.execute(stmt, rows)


def states(store: Store) -> dict[str, AccountState]:
    t = schema.account_state
    with store.engine.connect() as conn:
        rows = conn.execute(select(t)).fetchall()
    return {r.account_id: AccountState(account_id=r.account_id, outcome=Outcome(r.outcome), reason=r.reason,
                                       observed_at=dt(r.observed_ts), retry_at=dt(r.retry_ts)) for r in rows}


def last_observed(store: Store) -> dict[str, datetime]:
    """When each account was last observed successfully (for the poll cache guard)."""
    t = schema.account_state
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.account_id, t.c.observed_ts).where(t.c.outcome == "OK")).fetchall()
    return {r.account_id: dt(r.observed_ts) for r in rows if r.observed_ts}  # type: ignore[misc]
