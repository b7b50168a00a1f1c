"""Evaluate and deliver alerts against the store: the two steps the daemon runs on each beat.

``evaluate`` writes the lifecycle's decisions (one transaction); ``deliver`` sends each pending notice once:
it claims the row first (an atomic UPDATE), so several replicas, or a lease around the run, never double-send.
A notice that reaches no channel is put back and retried on the next run; one that no channel takes (none is
configured yet, or none takes its severity) stays pending, and goes out once a channel that takes it is added.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from quotawarden.actions.channels import Channel, Delivery, Message, Sender, default_sender, deliver, route
from quotawarden.actions.lifecycle import Notice, reconcile
from quotawarden.domain import Alert, Severity
from quotawarden.store import alerts as alerts_q
from quotawarden.store.alerts import AlertRecord
from quotawarden.store.engine import Store

_TITLE = {Notice.OPENED: "{sev}: {msg}", Notice.ESCALATED: "ESCALATED to {sev}: {msg}",
          Notice.REMINDER: "still open, {sev}: {msg}", Notice.RESOLVED: "resolved: {msg}"}


@dataclass(frozen=True, slots=True)
class Evaluation:
    opened: list[str] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)


def evaluate(store: Store, candidates: Sequence[Alert], now: datetime, cooldown: float, *,
             scope: Collection[str] | None = None, tags: Mapping[str, tuple[str, ...]] | None = None) -> Evaluation:
    active = alerts_q.active(store)
    active_keys = {r.key for r in active}
    fresh = [c.key for c in candidates if c.key not in active_keys]
    recent = alerts_q.resolved_since(store, fresh, now - timedelta(seconds=cooldown))
    plan = reconcile(candidates, active, recent, now, cooldown, scope=scope, tags=tags)
    alerts_q.save(store, plan.writes)
    return Evaluation(opened=[r.key for r in plan.writes if r.id is None], notices=plan.notices(),
                      resolved=[r.key for r in plan.writes if r.resolved_at == now])


def notice_message(rec: AlertRecord, notice: Notice) -> Message:
    a = rec.alert
    sev = a.severity.value.upper()
    title = _TITLE[notice].format(sev=sev, msg=a.message)
    lines = [a.message]
    if notice is not Notice.RESOLVED and a.action:
        lines.append(f"Action: {a.action}")
    if notice is Notice.RESOLVED:
        lines.append("The condition has cleared.")
    lines.append(f"alert #{a.id} ({a.kind}) - `quotawarden alerts ack {a.id}`"
                 if notice is not Notice.RESOLVED else f"alert #{a.id} ({a.kind})")
    severity = rec.notified_severity or a.severity if notice is Notice.RESOLVED else a.severity
    payload = {"event": notice.value, "alert": {
        "id": a.id, "key": a.key, "kind": a.kind, "severity": a.severity.value, "state": a.state.value,
        "account_id": a.account_id, "window": a.window, "message": a.message, "action": a.action,
        "opened_at": a.opened_at.isoformat() if a.opened_at else None}}
    return Message(title=title[:250], body="\n".join(lines), severity=severity, tags=rec.tags, payload=payload)


@dataclass(frozen=True, slots=True)
class Sent:
    alert_id: int | None
    key: str
    notice: str
    deliveries: list[Delivery]

    @property
    def ok(self) -> bool:
        return any(d.ok for d in self.deliveries)


def deliver_pending(store: Store, channels: Sequence[Channel], now: datetime, sender: Sender = default_sender,
                    ) -> list[Sent]:
    out = []
    for rec in alerts_q.pending(store):
        if rec.pending_notice is None:
            continue  # pending() only returns records with a notice; nothing to send otherwise
        notice = Notice(rec.pending_notice)
        message = notice_message(rec, notice)
        if not route(channels, message.severity, message.tags):
            continue  # no channel takes it (yet): it stays pending until one does
        if not alerts_q.claim(store, rec, now):
            continue  # another replica took it
        deliveries = deliver(message, channels, sender)
        sent = Sent(rec.id, rec.key, notice.value, deliveries)
        if deliveries and not sent.ok:
            alerts_q.unclaim(store, rec)
        out.append(sent)
    return out


def test_message(severity: Severity = Severity.WARNING, tags: Iterable[str] = ()) -> Message:
    return Message(title=f"quotawarden test alert ({severity.value})",
                   body="This is a test from `quotawarden alerts test`: this channel receives quotawarden alerts.",
                   severity=severity, tags=tuple(tags), payload={"event": "test"})
