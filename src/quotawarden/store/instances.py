"""Agent instances (the ``consumers`` table) and their sealed credentials.

An instance's API key is stored as a SHA-256 hash (the key is 192 random bits, so a slow hash buys nothing);
what it sent at registration is stored sealed by the caller's secret box, never in plaintext.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quotawarden.domain import Instance
from quotawarden.store import db
from quotawarden.store.engine import Store

_COLS = ("id", "name", "framework", "project", "state", "last_heartbeat_ts", "api_key_hash", "poll_interval_s",
         "config", "created_ts")
_SELECT = f"SELECT {', '.join(_COLS)} FROM consumers"


def _from_row(r: Any) -> Instance:
    cfg = db.from_json(r.config) or {}
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
           "config": db.to_json({"providers": inst.providers, "hard_caps": inst.hard_caps,
                                 "provider_config": inst.provider_config})}
    secrets = [(inst.id, p, fp, blob) for p, fp, blob in sealed]
    with store.begin() as conn:
        conn.execute(f"INSERT INTO consumers ({', '.join(_COLS)}) VALUES ({', '.join(':' + c for c in _COLS)})", row)
        if secrets:
            conn.executemany("INSERT INTO instance_secrets (consumer_id, provider, fingerprint, sealed) "
                             "VALUES (?, ?, ?, ?)", secrets)


def get(store: Store, instance_id: str) -> Instance | None:
    with store.connect() as conn:
        r = conn.one(f"{_SELECT} WHERE id = ? AND api_key_hash IS NOT NULL", (instance_id,))
    return _from_row(r) if r else None


def by_key_hash(store: Store, key_hash: str) -> Instance | None:
    with store.connect() as conn:
        r = conn.one(f"{_SELECT} WHERE api_key_hash = ?", (key_hash,))
    return _from_row(r) if r else None


def all_instances(store: Store) -> list[Instance]:
    with store.connect() as conn:
        rows = conn.rows(f"{_SELECT} WHERE api_key_hash IS NOT NULL ORDER BY created_ts")
    return [_from_row(r) for r in rows]


def heartbeat(store: Store, instance_id: str, now: float, state: str | None) -> bool:
    sets = "last_heartbeat_ts = :now" + (", state = :state" if state else "")
    with store.begin() as conn:
        return bool(conn.execute(f"UPDATE consumers SET {sets} WHERE id = :id",
                                 {"now": now, "state": state, "id": instance_id}).rowcount)


def remove(store: Store, instance_ids: list[str]) -> int:
    if not instance_ids:
        return 0
    params: dict[str, Any] = {}
    ids = db.in_list("ids", instance_ids, params)
    with store.begin() as conn:
        conn.execute(f"DELETE FROM instance_secrets WHERE consumer_id IN {ids}", params)
        return conn.execute(f"DELETE FROM consumers WHERE id IN {ids}", params).rowcount or 0


def stale(store: Store, now: float, factor: float = 3.0) -> list[str]:
    """Instances whose last heartbeat is older than ``factor`` poll intervals."""
    return [i.id for i in all_instances(store)
            if (now - (i.last_heartbeat_ts or i.created_ts)) > factor * i.poll_interval_s]


def sealed_secret(store: Store, fingerprint: str) -> str | None:
    """Any instance's sealed credential with this fingerprint (they are all the same key)."""
    with store.connect() as conn:
        return conn.scalar("SELECT sealed FROM instance_secrets WHERE fingerprint = ? LIMIT 1",  # type: ignore[no-any-return]
                           (fingerprint,))


def fingerprints_in_use(store: Store) -> set[str]:
    with store.connect() as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT fingerprint FROM instance_secrets")}
