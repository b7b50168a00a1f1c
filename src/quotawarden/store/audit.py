"""The audit trail: every change and every autonomous action, with who and when."""

from __future__ import annotations

from quotawarden.domain import AuditEvent
from quotawarden.store import db
from quotawarden.store._sql import dt
from quotawarden.store.engine import Store


def record(store: Store, event: AuditEvent) -> None:
    with store.begin() as conn:
        conn.execute("INSERT INTO audit_events (ts, actor, action, subject, detail) "
                     "VALUES (:ts, :actor, :action, :subject, :detail)",
                     {"ts": event.at.timestamp(), "actor": event.actor, "action": event.action,
                      "subject": event.subject, "detail": db.to_json(event.detail or None)})


def recent(store: Store, limit: int = 100) -> list[AuditEvent]:
    with store.connect() as conn:
        rows = conn.rows("SELECT ts, actor, action, subject, detail FROM audit_events "
                         "ORDER BY ts DESC, id DESC LIMIT :limit", {"limit": limit})
    return [AuditEvent(at=dt(r.ts), actor=r.actor, action=r.action, subject=r.subject,  # type: ignore[arg-type]
                       detail=db.from_json(r.detail) or {}) for r in rows]
