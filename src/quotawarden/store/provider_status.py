"""The last reading of each provider's status page (``provider_status``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from quotawarden.domain import PageStatus
from quotawarden.store._sql import insert
from quotawarden.store.engine import Store
from quotawarden.store.health_inputs import QUIET_PAGES
from quotawarden.store.schema_health import provider_status

QUIET = QUIET_PAGES


def save(store: Store, statuses: Sequence[PageStatus]) -> None:
    if not statuses:
        return
    t = provider_status
    rows = [{"provider": s.provider, "state": s.state, "description": s.description,
             "observed_ts": s.observed_at.timestamp()} for s in sorted(statuses, key=lambda s: s.provider)]
    stmt = insert(store, t)
    stmt = stmt.on_conflict_do_update(index_elements=["provider"], set_={
        "state": stmt.excluded.state, "description": stmt.excluded.description,
        "observed_ts": stmt.excluded.observed_ts})
    with store.engine.begin() as conn:
        conn.execute(stmt, rows)


def read_since(store: Store, since_ts: float) -> dict[str, tuple[str, str, float]]:
    """provider -> (state, description, observed_ts) for readings taken since ``since_ts``."""
    t = provider_status
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.provider, t.c.state, t.c.description, t.c.observed_ts)
                            .where(t.c.observed_ts >= since_ts)).all()
    return {p: (state, desc, ts) for p, state, desc, ts in rows}
