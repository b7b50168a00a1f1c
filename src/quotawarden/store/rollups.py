"""Pruning: raw samples older than ``keep_raw_days`` become hourly roll-ups (kept for ever), then go."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, tuple_

from quotawarden.store import schema
from quotawarden.store.engine import Store
from quotawarden.store.schema_daemon import sample_rollups

_BATCH = 20000


def _merge(acc: dict[str, Any], r: Any) -> None:
    ratio = r.used_ratio
    if ratio is None and r.limit:
        base = r.used if r.used is not None else (r.limit - r.remaining if r.remaining is not None else None)
        ratio = None if base is None else base / r.limit
    acc["n"] += 1
    if ratio is not None:
        acc["used_ratio_max"] = ratio if acc["used_ratio_max"] is None else max(acc["used_ratio_max"], ratio)
    if r.observed_ts >= acc["_last"]:
        acc.update(_last=r.observed_ts, used_ratio_last=ratio, used_last=r.used, remaining_last=r.remaining,
                   limit_last=r.limit, resets_ts_last=r.resets_ts)


def prune(store: Store, cutoff_ts: float) -> tuple[int, int]:
    """Roll up and delete samples observed before ``cutoff_ts``; returns (samples removed, roll-ups written)."""
    t = schema.samples
    removed = written = 0
    while True:
        with store.engine.begin() as conn:
            rows = conn.execute(select(t).where(t.c.observed_ts < cutoff_ts).order_by(t.c.id).limit(_BATCH)).fetchall()
            if not rows:
                return removed, written
            groups: dict[tuple[str, str, float], dict[str, Any]] = {}
            for r in rows:
                key = (r.account_id, r.window, float(int(r.observed_ts // 3600) * 3600))
                acc = groups.setdefault(key, {"unit": r.unit, "n": 0, "used_ratio_max": None, "_last": -1.0})
                _merge(acc, r)
            rt = sample_rollups
            existing = {(e.account_id, e.window, e.hour_ts): e for e in conn.execute(
                select(rt).where(tuple_(rt.c.account_id, rt.c.window, rt.c.hour_ts).in_(list(groups))))}
            for key, acc in groups.items():
                old = existing.get(key)
                row = {k: v for k, v in acc.items() if not k.startswith("_")}
                if old is not None:
                    row["n"] += old.n
                    if old.used_ratio_max is not None:
                        row["used_ratio_max"] = max(old.used_ratio_max, row["used_ratio_max"] or 0.0)
                    conn.execute(delete(rt).where(rt.c.account_id == key[0], rt.c.window == key[1],
                                                  rt.c.hour_ts == key[2]))
                conn.execute(rt.insert().values(account_id=key[0], window=key[1], hour_ts=key[2], **row))
                written += 1
            conn.execute(delete(t).where(t.c.id.in_([r.id for r in rows])))
            removed += len(rows)


def rollups(store: Store, account_id: str, window: str | None = None) -> list[dict[str, Any]]:
    rt = sample_rollups
    q = select(rt).where(rt.c.account_id == account_id).order_by(rt.c.hour_ts)
    if window:
        q = q.where(rt.c.window == window)
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
