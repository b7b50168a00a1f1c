"""Agent instances (the ``consumers`` table) and their sealed credentials.

An instance's API key is stored as a SHA-256 hash (the key is 192 random bits, so a slow hash buys nothing);
what it sent at registration is stored sealed by the caller's secret box, never in plaintext.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update

from quotawarden.domain import Instance
from quotawarden.store import schema
from quotawarden.store._sql import insert
from quotawarden.store.engine import Store
from quotawarden.store.schema_daemon import instance_secrets


def _from_row(r: Any) -> Instance:
    cfg = r.config or {}
    return Instance(id=r.id, project=r.project or r.name, framework=r.framework or "opencode", state=r.state,
                    poll_interval_s=r.poll_interval_s or 300, api_key_hash=r.api_key_hash or "",
                    created_ts=r.created_ts, last_heartbeat_ts=r.last_heartbeat_ts,
                    providers=dict(cfg.get("providers", {})), hard_caps=dict(cfg.get("hard_caps", {})),
                    provider_config=dict(cfg.get("provider_config", {})))


def add(store: Store, inst: Instance, sealed: Iterable[tuple[str, str, str]]) -> None:
    """``sealed`` is (provider, fingerprint, sealed blob) per credential."""
    row = {"id": inst.id, "name": inst.project, "framework": inst.framework, "project": inst.project,
           "state": inst.state, "last_heartbeat_ts": inst.last_heartbeat_ts, "api_key_hash": inst.api_key_hash,
           "poll_interval_s": inst.poll_interval_s, "created_ts": inst.created_ts,
           "config": {"providers": inst.providers, "hard_caps": inst.hard_caps,
                      "provider_config": inst.provider_config}}
    secrets = [{"consumer_id": inst.id, "provider": p, "fingerprint": fp, "sealed": blob} for p, fp, blob in sealed]
    with store.engine.begin() as conn:
        conn.execute(schema.consumers.insert().values(**row))
        if secrets:
            conn.execute(insert(store, instance_secrets), secrets)


def get(store: Store, instance_id: str) -> Instance | None:
    t = schema.consumers
    with store.engine.connect() as conn:
        r = conn.execute(select(t).where(t.c.id == instance_id, t.c.api_key_hash.is_not(None))).first()
    return _from_row(r) if r else None


def by_key_hash(store: Store, key_hash: str) -> Instance | None:
    t = schema.consumers
    with store.engine.connect() as conn:
        r = conn.execute(select(t).where(t.c.api_key_hash == key_hash)).first()
    return _from_row(r) if r else None


def all_instances(store: Store) -> list[Instance]:
    t = schema.consumers
    with store.engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.api_key_hash.is_not(None)).order_by(t.c.created_ts)).fetchall()
    return [_from_row(r) for r in rows]


def heartbeat(store: Store, instance_id: str, now: float, state: str | None) -> bool:
    t = schema.consumers
    values: dict[str, Any] = {"last_heartbeat_ts": now}
    if state:
        values["state"] = state
    with store.engine.begin() as conn:
        return bool(conn.execute(update(t).where(t.c.id == instance_id).values(**values)).rowcount)


def remove(store: Store, instance_ids: list[str]) -> int:
    if not instance_ids:
        return 0
    with store.engine.begin() as conn:
        conn.execute(delete(instance_secrets).where(instance_secrets.c.consumer_id.in_(instance_ids)))
        return conn.execute(delete(schema.consumers).where(schema.consumers.c.id.in_(instance_ids))).rowcount or 0


def stale(store: Store, now: float, factor: float = 3.0) -> list[str]:
    """Instances whose last heartbeat is older than ``factor`` poll intervals."""
    return [i.id for i in all_instances(store)
            if (now - (i.last_heartbeat_ts or i.created_ts)) > factor * i.poll_interval_s]


def sealed_secret(store: Store, fingerprint: str) -> str | None:
    """Any instance's sealed credential with this fingerprint (they are all the same key)."""
    t = instance_secrets
    with store.engine.connect() as conn:
        return conn.execute(select(t.c.sealed).where(t.c.fingerprint == fingerprint).limit(1)).scalar()


def fingerprints_in_use(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(instance_secrets.c.fingerprint).distinct()).scalars())
