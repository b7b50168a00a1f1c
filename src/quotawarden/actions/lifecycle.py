"""The alert lifecycle, as one pure function: open -> (acked) -> resolved, with cooldown and escalation.

``reconcile`` compares the alerts that should be open now (rule output) with the stored ones and returns the
rows to write, each carrying the notice to deliver, if any:

* **de-duplication** -- one row per key while the condition lasts; repeated evaluations only refresh its text.
* **escalation** -- a severity above the last one announced is announced at once (an ack does not hide it).
* **no flapping spam** -- going down a level is silent; so is coming back to a level already announced; a
  condition that clears and returns within ``cooldown`` of its resolution re-opens the same row silently, and
  is announced again (``reminder``) only if it is still open once the cooldown has passed.
* **resolved notice** -- sent when an announced condition clears (not when people were already told it cleared).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from quotawarden.domain import Alert, AlertState, Severity
from quotawarden.store.alerts import AlertRecord

SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Notice(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    RESOLVED = "resolved"


def _above(a: Severity, b: Severity | None) -> bool:
    return b is None or SEVERITY_RANK[a] > SEVERITY_RANK[b]


@dataclass(frozen=True, slots=True)
class Plan:
    writes: list[AlertRecord]
    """Rows to insert (id None) or update."""

    def notices(self) -> list[tuple[str, str]]:
        return [(r.key, r.pending_notice) for r in self.writes if r.pending_notice]


def reconcile(candidates: Iterable[Alert], active: Sequence[AlertRecord], recently_resolved: Mapping[str, AlertRecord],
              now: datetime, cooldown: float, *, scope: Collection[str] | None = None,
              tags: Mapping[str, tuple[str, ...]] | None = None) -> Plan:
    """``scope`` lists the alert kinds that were evaluated; active alerts of other kinds are left alone."""
    tags = tags or {}
    by_key = {r.key: r for r in active}
    seen: set[str] = set()
    writes: list[AlertRecord] = []
    for cand in candidates:
        if cand.key in seen:
            continue
        seen.add(cand.key)
        cand_tags = tags.get(cand.key, ())
        if (rec := by_key.get(cand.key)) is not None:
            changed = _update(rec, cand, now, cooldown)
        elif (old := recently_resolved.get(cand.key)) is not None:
            changed = _reopen(old, cand, now)
        else:
            changed = AlertRecord(alert=replace(cand, state=AlertState.OPEN, opened_at=now, updated_at=now, id=None),
                                  tags=cand_tags, pending_notice=Notice.OPENED.value)
        if changed is not None:
            writes.append(replace(changed, tags=cand_tags or changed.tags))
    for rec in active:
        if rec.key not in seen and (scope is None or rec.alert.kind in scope):
            writes.append(_resolve(rec, now))
    return Plan(writes)


def _update(rec: AlertRecord, cand: Alert, now: datetime, cooldown: float) -> AlertRecord | None:
    a = rec.alert
    pending = rec.pending_notice
    state = a.state
    told = rec.last_notice
    if pending is None and told is None:
        pending = Notice.OPENED.value  # never announced (delivery failed or was skipped): announce it
    elif told is not None and pending in (None, Notice.REMINDER.value) and _above(cand.severity,
                                                                                rec.notified_severity):
        pending, state = Notice.ESCALATED.value, AlertState.OPEN  # worse than anyone was told: say so now
    elif pending is None and told == Notice.RESOLVED.value and rec.notified_at is not None \
            and now - rec.notified_at >= timedelta(seconds=cooldown):
        pending = Notice.REMINDER.value  # re-opened inside the cooldown, still open after it
    if (cand.severity, cand.message, cand.action, pending, state) == (a.severity, a.message, a.action,
                                                                      rec.pending_notice, a.state):
        return None
    return replace(rec, alert=replace(a, severity=cand.severity, message=cand.message, action=cand.action,
                                      state=state, updated_at=now), pending_notice=pending,
                   acked_by=None if state is AlertState.OPEN and a.state is AlertState.ACKED else rec.acked_by)


def _reopen(old: AlertRecord, cand: Alert, now: datetime) -> AlertRecord:
    """The same condition back inside its cooldown: the same row, silently (unless it is worse than announced)."""
    if old.last_notice is None:
        pending: str | None = Notice.OPENED.value
    elif _above(cand.severity, old.notified_severity):
        pending = Notice.ESCALATED.value
    else:
        pending = None  # also drops a resolved notice not yet delivered: it is open again
    return replace(old, alert=replace(old.alert, severity=cand.severity, message=cand.message, action=cand.action,
                                      state=AlertState.OPEN, updated_at=now),
                   resolved_at=None, acked_by=None, pending_notice=pending)


def _resolve(rec: AlertRecord, now: datetime) -> AlertRecord:
    told_open = rec.last_notice is not None and rec.last_notice != Notice.RESOLVED.value
    pending = Notice.RESOLVED.value if told_open else None  # never announced (or announced resolved): stay quiet
    return replace(rec, alert=replace(rec.alert, state=AlertState.RESOLVED, updated_at=now), resolved_at=now,
                   pending_notice=pending)
