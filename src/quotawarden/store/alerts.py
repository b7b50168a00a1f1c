"""Alerts as stored: one row per occurrence of a condition (its ``key``), open -> acked -> resolved.

A row carries the notice waiting for delivery (``pending_notice``). Delivery claims it with one atomic
``UPDATE ... WHERE pending_notice = :kind``, so with several replicas on one database each notice is sent once,
with or without a lease around the whole delivery run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from quotawarden.domain import Alert, AlertState, Severity
from quotawarden.store import db
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


_COLS = ("id", "key", "kind", "severity", "state", "account_id", "window", "message", "action", "opened_ts",
         "updated_ts", "resolved_ts", "acked_by", "notified_ts", "notify_count", "pending_notice", "last_notice",
         "notified_severity", "tags")
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in _COLS) + " FROM alerts"
_WRITE = _COLS[1:]  # every column but the id
_QUOTED = [f'"{c}"' for c in _WRITE]
_INSERT = f"INSERT INTO alerts ({', '.join(_QUOTED)}) VALUES ({', '.join(':' + c for c in _WRITE)}) RETURNING id"
_UPDATE = (f"UPDATE alerts SET {', '.join(f'{q} = :{c}' for q, c in zip(_QUOTED, _WRITE, strict=True))} "
           "WHERE id = :id AND notify_count = :seen_count")


def _record(r: Any) -> AlertRecord:
    alert = Alert(key=r.key, severity=Severity(r.severity), message=r.message, action=r.action or "",
                  account_id=r.account_id, window=r.window, kind=r.kind, state=AlertState(r.state),
                  opened_at=dt(r.opened_ts), updated_at=dt(r.updated_ts), id=r.id)
    return AlertRecord(alert=alert, tags=tuple(db.from_json(r.tags) or ()), resolved_at=dt(r.resolved_ts),
                       acked_by=r.acked_by, notified_at=dt(r.notified_ts), notify_count=r.notify_count or 0,
                       pending_notice=r.pending_notice, last_notice=r.last_notice,
                       notified_severity=Severity(r.notified_severity) if r.notified_severity else None)


def _values(rec: AlertRecord) -> dict[str, object]:
    a = rec.alert
    return {"key": a.key, "kind": a.kind, "severity": a.severity.value, "state": a.state.value,
            "account_id": a.account_id, "window": a.window, "message": a.message, "action": a.action,
            "opened_ts": ts(a.opened_at), "updated_ts": ts(a.updated_at), "resolved_ts": ts(rec.resolved_at),
            "acked_by": rec.acked_by, "pending_notice": rec.pending_notice, "tags": db.to_json(list(rec.tags)),
            "notified_ts": ts(rec.notified_at), "notify_count": rec.notify_count, "last_notice": rec.last_notice,
            "notified_severity": rec.notified_severity.value if rec.notified_severity else None}


def active(store: Store) -> list[AlertRecord]:
    """Open and acknowledged alerts."""
    with store.connect() as conn:
        rows = conn.rows(f"{_SELECT} WHERE state IN (?, ?) ORDER BY id", ACTIVE)
    return [_record(r) for r in rows]


def resolved_since(store: Store, keys: Iterable[str], since: datetime) -> dict[str, AlertRecord]:
    """The latest resolved row of each key resolved after ``since`` (a condition flapping inside its cooldown)."""
    keys = list(keys)
    if not keys:
        return {}
    params: dict[str, object] = {"state": AlertState.RESOLVED.value, "since": since.timestamp()}
    sql = (f'{_SELECT} WHERE "key" IN {db.in_list("k", keys, params)} AND state = :state AND resolved_ts >= :since '
           "ORDER BY id")
    with store.connect() as conn:
        rows = conn.rows(sql, params)
    return {r.key: _record(r) for r in rows}


def save(store: Store, records: Sequence[AlertRecord]) -> list[AlertRecord]:
    """Insert records without an id, update the others (all in one transaction); returns them with ids."""
    out = []
    with store.begin() as conn:
        for rec in records:
            values = _values(rec)
            if rec.id is None:
                new_id = conn.scalar(_INSERT, values)
                out.append(rec.with_alert(id=new_id))
            else:
                # A notice claimed since this record was read (another replica delivered it) bumps notify_count:
                # writing the stale record back would queue that notice again, so the claim wins.
                n = conn.execute(_UPDATE, {**values, "id": rec.id, "seen_count": rec.notify_count}).rowcount
                if n:
                    out.append(rec)
    return out


def get(store: Store, alert_id: int) -> AlertRecord | None:
    with store.connect() as conn:
        row = conn.one(f"{_SELECT} WHERE id = ?", (alert_id,))
    return _record(row) if row else None


def list_alerts(store: Store, states: Sequence[AlertState] | None = None, limit: int = 200) -> list[AlertRecord]:
    params: dict[str, object] = {"limit": limit}
    where = f" WHERE state IN {db.in_list('s', [s.value for s in states], params)}" if states else ""
    with store.connect() as conn:
        rows = conn.rows(f"{_SELECT}{where} ORDER BY updated_ts DESC, id DESC LIMIT :limit", params)
    return [_record(r) for r in rows]


def ack(store: Store, alert_id: int, by: str, now: datetime) -> bool:
    """Acknowledge an open alert; False when there is no such open alert."""
    with store.begin() as conn:
        n = conn.execute("UPDATE alerts SET state = ?, acked_by = ?, updated_ts = ? WHERE id = ? AND state = ?",
                         (AlertState.ACKED.value, by, now.timestamp(), alert_id, AlertState.OPEN.value)).rowcount
    return bool(n)


def pending(store: Store, limit: int = 500) -> list[AlertRecord]:
    with store.connect() as conn:
        rows = conn.rows(f"{_SELECT} WHERE pending_notice IS NOT NULL ORDER BY id LIMIT ?", (limit,))
    return [_record(r) for r in rows]


def claim(store: Store, rec: AlertRecord, now: datetime) -> bool:
    """Take the pending notice of ``rec`` for delivery; exactly one caller wins it, on either database."""
    # no notice pending (None) matches a row without one, as a comparison with None did through SQLAlchemy
    notice = "pending_notice IS NULL" if rec.pending_notice is None else "pending_notice = :notice"
    with store.begin() as conn:
        n = conn.execute("UPDATE alerts SET pending_notice = NULL, last_notice = :notice, notified_ts = :now, "
                         "notified_severity = :severity, notify_count = notify_count + 1 "
                         f"WHERE id = :id AND {notice}",
                         {"notice": rec.pending_notice, "now": now.timestamp(), "severity": rec.alert.severity.value,
                          "id": rec.id}).rowcount
    return bool(n)


def unclaim(store: Store, rec: AlertRecord) -> None:
    """Delivery failed everywhere: put the notice back (unless a newer one replaced it) so the next run retries."""
    with store.begin() as conn:
        conn.execute("UPDATE alerts SET pending_notice = ?, last_notice = ?, notified_ts = ?, notified_severity = ?, "
                     "notify_count = notify_count - 1 WHERE id = ? AND pending_notice IS NULL",
                     (rec.pending_notice, rec.last_notice, ts(rec.notified_at),
                      rec.notified_severity.value if rec.notified_severity else None, rec.id))
