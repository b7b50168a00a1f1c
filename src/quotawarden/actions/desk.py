"""The actions stage, wired: what ``Service`` delegates to for alerts, digests and autonomous actions.

It receives its collaborators (the store, the settings, the clock, the status and audit functions) instead of
importing the service, so the layers keep pointing one way.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from quotawarden.actions import alerting, autonomy, rules, switcher, throttling
from quotawarden.actions.channels import Channel, Delivery, Message, Sender, channels_from_settings, deliver
from quotawarden.actions.digest import PERIOD_LENGTH, Period, build_digest
from quotawarden.analysis.status import AccountStatus
from quotawarden.domain import Account, Alert, AlertState, Severity
from quotawarden.store import alerts as alerts_q
from quotawarden.store import throttles as throttles_q
from quotawarden.store import usage as usage_q
from quotawarden.store.alerts import AlertRecord
from quotawarden.store.engine import Store

HEALTH_KINDS = ("health", "key_invalid", "auth_failure", "limited", "provider_down")


@dataclass
class ActionDesk:
    store: Callable[[], Store]
    settings: Any
    """The validated ``Settings`` (sections ``alerts`` and ``autonomy`` are read)."""
    now: Callable[[], datetime]
    statuses: Callable[[], list[AccountStatus]]
    accounts: Callable[[], list[Account]]
    audit: Callable[..., None]
    resolve_secret: Callable[[str], str | None]
    sender: Sender | None = None
    oauth_providers: frozenset[str] = frozenset()
    """Providers whose credential is a sign-in (``ProviderSpec.auth == "oauth"``): a rejected one is an
    ``auth_failure``."""

    # -- channels -------------------------------------------------------------------------------------------

    def channels(self, urls: Sequence[str] | None = None) -> list[Channel]:
        chans = channels_from_settings(self.settings.alerts.channels, self.resolve_secret)
        if urls:
            wanted = set(urls)
            chans = [c for c in chans if c.url in wanted] + [Channel(u) for u in urls
                                                             if u not in {c.url for c in chans}]
        return chans

    def _send(self, message: Message, channels: Sequence[Channel] | None = None) -> list[Delivery]:
        kwargs = {"sender": self.sender} if self.sender else {}
        return deliver(message, self.channels() if channels is None else channels, **kwargs)

    def announce(self, message: Message) -> list[Delivery]:
        return self._send(message)

    # -- alerts ---------------------------------------------------------------------------------------------

    def candidates(self, findings: Iterable[rules.Finding] = ()) -> list[Alert]:
        statuses = self.statuses()
        pools = self.failover_pools()
        return [*rules.health_alerts(statuses, pools, self.oauth_providers), *rules.pool_alerts(statuses, pools),
                *rules.provider_down_alerts(statuses), *rules.finding_alerts(findings)]

    def failover_pools(self) -> builtins.list[rules.Pool]:
        """The ``[[pools]]`` the proxy fails over in: all of them under ``autonomy.rotate_keys = "auto"``, none
        otherwise (``ask`` and ``off`` keep a pool on its first account and pass its 429s to the client)."""
        if autonomy.mode_for(self.settings.autonomy, "rotate_keys") is not autonomy.Mode.AUTO:
            return []
        accounts = self.accounts()
        return [rules.Pool(p.name, tuple(p.accounts) or tuple(a.id for a in accounts if a.pool == p.name),
                           tuple(p.fallback)) for p in self.settings.pools]

    def evaluate(self, findings: Iterable[rules.Finding] = (), finding_kinds: Iterable[str] = ()
                 ) -> alerting.Evaluation:
        """Open, update and resolve alerts from the current status and any analysis findings.

        ``finding_kinds`` names the kinds analysis evaluated, so that their cleared conditions resolve.
        """
        findings = list(findings)
        cands = self.candidates(findings)
        accounts = {a.id: a for a in self.accounts()}
        tags = {}
        for c in cands:
            acc = accounts.get(c.account_id or "")
            tags[c.key] = rules.alert_tags(c, acc.provider if acc else None, acc.tags if acc else None)
        scope = {*HEALTH_KINDS, *finding_kinds, *(f.kind for f in findings)}
        return alerting.evaluate(self.store(), cands, self.now(), self.settings.alerts.cooldown, scope=scope,
                                 tags=tags)

    def deliver(self) -> list[alerting.Sent]:
        kwargs = {"sender": self.sender} if self.sender else {}
        return alerting.deliver_pending(self.store(), self.channels(), self.now(), **kwargs)

    def list(self, states: Sequence[AlertState] | None = None, limit: int = 200) -> builtins.list[AlertRecord]:
        return alerts_q.list_alerts(self.store(), states, limit)

    def ack(self, alert_id: int, by: str = "user") -> bool:
        ok = alerts_q.ack(self.store(), alert_id, by, self.now())
        if ok:
            self.audit(by, "alert.ack", f"alert:{alert_id}")
        return ok

    def test(self, severity: Severity, urls: Sequence[str] | None = None) -> builtins.list[Delivery]:
        return self._send(alerting.test_message(severity), self.channels(urls))

    # -- autonomous actions ---------------------------------------------------------------------------------

    def act(self, action_type: str, subject: str, summary: str, do: Callable[[], dict[str, Any] | None],
            actor: str = "daemon", detail: dict[str, Any] | None = None, announce: bool = True
            ) -> autonomy.Outcome:
        """Run (auto), propose (ask) or skip (off) an action; audit it and announce it on the channels."""
        mode = autonomy.mode_for(self.settings.autonomy, action_type)
        outcome = autonomy.run(mode, action_type, summary, do, detail)
        self.audit(actor, outcome.audit_action, subject, summary=outcome.summary, **outcome.detail)
        if announce and mode is not autonomy.Mode.OFF:
            self.announce(_action_message(outcome, subject, summary))
        return outcome

    def throttle(self, shares: Iterable[throttling.Share], hold_s: float = 3600, actor: str = "daemon"
                 ) -> builtins.list[autonomy.Outcome]:
        """Hold back the consumers fairness says to throttle, under ``autonomy.throttle_consumers``."""
        mode = autonomy.mode_for(self.settings.autonomy, throttling.ACTION)
        if mode is autonomy.Mode.OFF:
            return []
        return throttling.throttle(self.store(), shares, self.now(), mode, self.act, hold_s=hold_s, actor=actor)

    def throttled(self) -> builtins.list[dict[str, Any]]:
        """Consumers held back now, with until when and why."""
        held = throttles_q.active(self.store(), self.now().timestamp())
        return [{"consumer": c, "until": datetime.fromtimestamp(until, UTC), "reason": reason}
                for c, (until, reason) in sorted(held.items())]

    def release(self, consumer: str, by: str = "user") -> bool:
        """Lift a hold before it lapses (audited); False when the consumer was not held back."""
        ok = throttles_q.release(self.store(), consumer)
        if ok:
            self.audit(by, f"{throttling.ACTION}.release", f"consumer:{consumer}")
        return ok

    # -- digests --------------------------------------------------------------------------------------------

    def digest(self, period: Period) -> Message:
        now = self.now()
        events = usage_q.events_between(self.store(), now - PERIOD_LENGTH[period], now + timedelta(seconds=1))
        return build_digest(period, self.statuses(), events, now)

    def send_digest(self, period: Period, actor: str = "daemon") -> autonomy.Outcome:
        message = self.digest(period)
        names = self.settings.alerts.digest_channels
        chans = self.channels(names) if names else self.channels()
        # digests go to their channels whatever the channel's severity filter
        chans = [replace(c, severities=frozenset(Severity), tags=frozenset()) for c in chans]
        return self.act("send_digests", f"digest:{period}", f"{period} digest",
                        lambda: {"deliveries": [d.ok for d in self._send(message, chans)]}, actor=actor,
                        announce=False)

    # -- OpenCode switching -----------------------------------------------------------------------------------

    def switch(self, paths: Sequence[str], hold: int = 3, aliases: dict[str, str] | None = None,
               actor: str = "switcher") -> builtins.list[switcher.Result]:
        """One switcher poll over ``paths``, under ``autonomy.switch_models``; each change is audited and announced."""
        mode = autonomy.mode_for(self.settings.autonomy, "switch_models")
        if mode is autonomy.Mode.OFF:
            return [switcher.Result(str(p), error="autonomy.switch_models = off: nothing switched") for p in paths]
        health = switcher.provider_health(self.statuses(), aliases)
        results = switcher.switch_files(paths, health, self.now(), hold, apply=mode is autonomy.Mode.AUTO)
        for r in results:
            sent: builtins.list[Delivery] = []
            for c in r.changes:
                subject, summary = f"{r.file}#{c.agent}", f"{c.agent}: {c.old} -> {c.new} ({c.reason})"
                outcome = self.act("switch_models", subject, summary, lambda: None, actor=actor, announce=False,
                                   detail={"file": r.file, "agent": c.agent, "from": c.old, "to": c.new})
                sent += self.announce(_action_message(outcome, subject, summary))
            r.warnings.extend(_unsent(sent))
        return results

    def restore(self, paths: Sequence[str], actor: str = "user") -> builtins.list[switcher.Result]:
        results = []
        for p in paths:
            r = switcher.Switcher(p).restore(self.now())
            for c in r.changes:
                self.audit(actor, "switch_models.restore", f"{r.file}#{c.agent}", **{"from": c.old, "to": c.new})
            if r.changes:
                sent = self.announce(Message(title=f"quotawarden restored {len(r.changes)} model(s) in {r.file}",
                                             body="\n".join(f"{c.agent}: {c.old} -> {c.new}" for c in r.changes),
                                             severity=Severity.INFO, tags=("action", "switch_models")))
                r.warnings.extend(_unsent(sent))
            results.append(r)
        return results


def _unsent(deliveries: Iterable[Delivery]) -> builtins.list[str]:
    """One warning per channel that did not take a notice (the action itself is done and reported)."""
    failed: dict[str, str] = {}
    for d in deliveries:
        if not d.ok:
            failed.setdefault(d.channel, d.error or "the channel did not accept it")
    return [f"the notice to {ch} was not sent: {why}" for ch, why in failed.items()]


def _action_message(outcome: autonomy.Outcome, subject: str, summary: str) -> Message:
    """What the channels hear about an autonomous action (done, proposed or skipped)."""
    kind = outcome.action_type
    return Message(title=f"quotawarden {kind.replace('_', ' ')}: {summary}"[:250], body=outcome.summary,
                   severity=Severity.INFO, tags=("action", kind, subject),
                   payload={"event": "action", "action": kind, "mode": outcome.mode.value, "done": outcome.done,
                            "subject": subject})
