"""Alerts as stored: one row per occurrence of a condition (its ``key``), open -> acked -> resolved.

A row carries the notice waiting for delivery (``pending_notice``). Delivery claims it with one atomic
``UPDATE ... WHERE pending_notice = :kind``, so with several replicas on one database each notice is sent once,
with or without a lease around the whole delivery run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Row, select, update

from quotawarden.domain import Alert, AlertState, Severity
from quotawarden.store import schema
from quotawarden.store._sql import dt, ts
from quotawarden.store.engine import Store

ACTIVE = (AlertState.OPEN.value, AlertState.ACKED.value)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert with its delivery bookkeeping."""

    alert: Alert
    tags: tuple[str, ...] = ()
    resolved_at: datetime | None = None
    acked_by: str | None = None
    notified_at: datetime | None = None
    notify_count: int = 0
    pending_notice: str | None = None
    last_notice: str | None = None
    notified_severity: Severity | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def id(self) -> int | None:
        return self.alert.id

    @property
    def key(self) -> str:
        return self.alert.key

    @property
    def state(self) -> AlertState:
        return self.alert.state

    def with_alert(self, **changes: object) -> AlertRecord:
        return replace(self, alert=replace(self.alert, **changes))  # type: ignore[arg-type]


def _record(r: Row[object]) -> AlertRecord:
    m = r._mapping
    alert = Alert(key=m["key"], severity=Severity(m["severity"]), message=m["message"], action=m["action"] or "",
                  account_id=m["account_id"], window=m["window"], kind=m["kind"], state=AlertState(m["state"]),
                  opened_at=dt(m["opened_ts"]), updated_at=dt(m["updated_ts"]), id=m["id"])
    return AlertRecord(alert=alert, tags=tuple(m["tags"] or ()), resolved_at=dt(m["resolved_ts"]),
                       acked_by=m["acked_by"], notified_at=dt(m["notified_ts"]), notify_count=m["notify_count"] or 0,
                       pending_notice=m["pending_notice"], last_notice=m["last_notice"],
                       notified_severity=Severity(m["notified_severity"]) if m["notified_severity"] else None)


def _values(rec: AlertRecord) -> dict[str, object]:
    a = rec.alert
    return {"key": a.key, "kind": a.kind, "severity": a.severity.value, "state": a.state.value,
            "account_id": a.account_id, "window": a.window, "message": a.message, "action": a.action,
            "opened_ts": ts(a.opened_at), "updated_ts": ts(a.updated_at), "resolved_ts": ts(rec.resolved_at),
            "acked_by": rec.acked_by, "pending_notice": rec.pending_notice, "tags": list(rec.tags),
            "notified_ts": ts(rec.notified_at), "notify_count": rec.notify_count, "last_notice": rec.last_notice,
            "notified_severity": rec.notified_severity.value if rec.notified_severity else None}


def active(store: Store) -> list[AlertRecord]:
    """Open and acknowledged alerts."""
    t = schema.alerts
    with store.engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.state.in_(ACTIVE)).order_by(t.c.id)).fetchall()
    return [_record(r) for r in rows]


def resolved_since(store: Store, keys: Iterable[str], since: datetime) -> dict[str, AlertRecord]:
    """The latest resolved row of each key resolved after ``since`` (a condition flapping inside its cooldown)."""
    keys = list(keys)
    if not keys:
        return {}
    t = schema.alerts
    with store.engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.key.in_(keys), t.c.state == AlertState.RESOLVED.value,
                                            t.c.resolved_ts >= since.timestamp()).order_by(t.c.id)).fetchall()
    return {r.key: _record(r) for r in rows}


def save(store: Store, records: Sequence[AlertRecord]) -> list[AlertRecord]:
    """Insert records without an id, update the others (all in one transaction); returns them with ids."""
    t = schema.alerts
    out = []
    with store.engine.begin() as conn:
        for rec in records:
            values = _values(rec)
            if rec.id is None:
                new_id = conn.execute(t.insert().values(**values).returning(t.c.id)).scalar_one()
                out.append(rec.with_alert(id=new_id))
            else:
                # A notice claimed since this record was read (another replica delivered it) bumps notify_count:
                # writing the stale record back would queue that notice again, so the claim wins.
                n = conn.execute(update(t).where(t.c.id == rec.id, t.c.notify_count == rec.notify_count)
                                 .values(**values)).rowcount
                if n:
                    out.append(rec)
    return out


def get(store: Store, alert_id: int) -> AlertRecord | None:
    t = schema.alerts
    with store.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == alert_id)).first()
    return _record(row) if row else None


def list_alerts(store: Store, states: Sequence[AlertState] | None = None, limit: int = 200) -> list[AlertRecord]:
    t = schema.alerts
    q = select(t).order_by(t.c.updated_ts.desc(), t.c.id.desc()).limit(limit)
    if states:
        q = q.where(t.c.state.in_([s.value for s in states]))
    with store.engine.connect() as conn:
        return [_record(r) for r in conn.execute(q).fetchall()]


def ack(store: Store, alert_id: int, by: str, now: datetime) -> bool:
    """Acknowledge an open alert; False when there is no such open alert."""
    t = schema.alerts
    with store.engine.begin() as conn:
        n = conn.execute(update(t).where(t.c.id == alert_id, t.c.state == AlertState.OPEN.value).values(
            state=AlertState.ACKED.value, acked_by=by, updated_ts=now.timestamp())).rowcount
    return bool(n)


def pending(store: Store, limit: int = 500) -> list[AlertRecord]:
    t = schema.alerts
    with store.engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.pending_notice.is_not(None)).order_by(t.c.id).limit(limit))
        return [_record(r) for r in rows.fetchall()]


def claim(store: Store, rec: AlertRecord, now: datetime) -> bool:
    """Take the pending notice of ``rec`` for delivery; exactly one caller wins it, on either database."""
    t = schema.alerts
    with store.engine.begin() as conn:
        n = conn.execute(update(t).where(t.c.id == rec.id, t.c.pending_notice == rec.pending_notice).values(
            pending_notice=None, last_notice=rec.pending_notice, notified_ts=now.timestamp(),
            notified_severity=rec.alert.severity.value, notify_count=t.c.notify_count + 1)).rowcount
    return bool(n)


def unclaim(store: Store, rec: AlertRecord) -> None:
    """Delivery failed everywhere: put the notice back (unless a newer one replaced it) so the next run retries."""
    t = schema.alerts
    with store.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == rec.id, t.c.pending_notice.is_(None)).values(
            pending_notice=rec.pending_notice, last_notice=rec.last_notice, notified_ts=ts(rec.notified_at),
            notified_severity=rec.notified_severity.value if rec.notified_severity else None,
            notify_count=t.c.notify_count - 1))
