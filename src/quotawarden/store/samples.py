"""Quota samples: idempotent batch writes, the latest value per account/window, and time ranges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from quotawarden.domain import Provenance, QuotaSample, Source, Unit
from quotawarden.store import schema
from quotawarden.store._sql import chunks, dt, insert, ts
from quotawarden.store.engine import Store

_BATCH = 5000


def _row(s: QuotaSample) -> dict[str, Any]:
    return {
        "account_id": s.account_id, "window": s.window, "observed_ts": s.observed_at.timestamp(),
        "source": s.source.value, "provenance": s.provenance.value, "unit": s.unit.value,
        "used_ratio": s.used_ratio, "used": s.used, "remaining": s.remaining, "limit": s.limit,
        "resets_ts": ts(s.resets_at), "status": s.status, "window_length_s": s.window_length_s,
    }


def from_row(r: Any) -> QuotaSample:
    return QuotaSample(
        observed_at=dt(r.observed_ts),  # type: ignore[arg-type]
        account_id=r.account_id, window=r.window, unit=Unit(r.unit), source=Source(r.source),
        provenance=Provenance(r.provenance), used_ratio=r.used_ratio, used=r.used, remaining=r.remaining,
        limit=r.limit, resets_at=dt(r.resets_ts), status=r.status, window_length_s=r.window_length_s,
    )


def write_samples(store: Store, items: Iterable[QuotaSample]) -> int:
    """Insert samples; a sample already stored (same account, window, time, source) is kept once.

    Returns the number of samples offered. The latest value per account/window is kept current in the same
    transaction, so "latest for every account" never scans the history.
    """
    rows = [_row(s) for s in items]
    if not rows:
        return 0
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["account_id"], r["window"])
        cur = latest.get(key)
        if cur is None or r["observed_ts"] >= cur["observed_ts"]:
            latest[key] = r
    stmt = insert(store, schema.samples).on_conflict_do_nothing(
        index_elements=["account_id", "window", "observed_ts", "source"])
    with store.engine.begin() as conn:
        for part in chunks(rows, _BATCH):
            conn.execute(stmt, part)
        _upsert_latest(store, conn, list(latest.values()))
    return len(rows)


def _upsert_latest(store: Store, conn: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    ins = insert(store, schema.latest_samples)
    cols = {c: getattr(ins.excluded, c) for c in rows[0] if c not in ("account_id", "window")}
    stmt = ins.on_conflict_do_update(
        index_elements=["account_id", "window"], set_=cols,
        where=schema.latest_samples.c.observed_ts <= ins.excluded.observed_ts,
    )
    for part in chunks(rows, _BATCH):
        conn.execute(stmt, part)


def latest(store: Store, account_ids: Sequence[str] | None = None) -> list[QuotaSample]:
    """The newest sample of every window of the given accounts (all accounts when None)."""
    t = schema.latest_samples
    q = select(t).order_by(t.c.account_id, t.c.window)
    if account_ids is not None:
        q = q.where(t.c.account_id.in_(list(account_ids)))
    with store.engine.connect() as conn:
        return [from_row(r) for r in conn.execute(q)]


def history(store: Store, account_id: str, window: str | None = None, *, since: datetime | None = None,
            until: datetime | None = None) -> list[QuotaSample]:
    """Samples of one account (optionally one window) in a time range, oldest first."""
    t = schema.samples
    cond = [t.c.account_id == account_id]
    if window is not None:
        cond.append(t.c.window == window)
    if since is not None:
        cond.append(t.c.observed_ts >= since.timestamp())
    if until is not None:
        cond.append(t.c.observed_ts <= until.timestamp())
    q = select(t).where(and_(*cond)).order_by(t.c.observed_ts)
    with store.engine.connect() as conn:
        return [from_row(r) for r in conn.execute(q)]


def count(store: Store) -> int:
    from sqlalchemy import func

    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.samples)).scalar_one())
