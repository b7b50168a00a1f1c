"""Reading and acknowledging stored alerts (the HTTP API's view; the alerts engine writes them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from quotawarden.store import schema
from quotawarden.store.engine import Store


def list_alerts(store: Store, state: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    t = schema.alerts
    q = select(t).order_by(t.c.updated_ts.desc()).limit(limit)
    if state:
        q = q.where(t.c.state == state)
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def ack(store: Store, alert_id: int, by: str, now: float) -> bool:
    t = schema.alerts
    with store.engine.begin() as conn:
        n = conn.execute(update(t).where(t.c.id == alert_id, t.c.state == "open")
                         .values(state="acked", acked_by=by, updated_ts=now)).rowcount
        if n:
            return True
        return conn.execute(select(t.c.id).where(t.c.id == alert_id)).first() is not None
