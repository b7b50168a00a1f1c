"""The audit trail: every change and every autonomous action, with who and when."""

from __future__ import annotations

from sqlalchemy import select

from quotawarden.domain import AuditEvent
from quotawarden.store import schema
from quotawarden.store._sql import dt
from quotawarden.store.engine import Store


def record(store: Store, event: AuditEvent) -> None:
    with store.engine.begin() as conn:
        conn.execute(schema.audit_events.insert().values(
            ts=event.at.timestamp(), actor=event.actor, action=event.action, subject=event.subject,
            detail=event.detail or None))


def recent(store: Store, limit: int = 100) -> list[AuditEvent]:
    t = schema.audit_events
    with store.engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.ts.desc(), t.c.id.desc()).limit(limit)).fetchall()
    return [AuditEvent(at=dt(r.ts), actor=r.actor, action=r.action, subject=r.subject,  # type: ignore[arg-type]
                       detail=r.detail or {}) for r in rows]
