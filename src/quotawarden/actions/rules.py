"""Alert rules: pure functions from findings to the alerts that should be open right now.

Each rule returns :class:`~quotawarden.domain.Alert` candidates with a stable ``key`` (same condition, same
account, same window -> same key), so the lifecycle can de-duplicate. A condition that is absent from the
candidates is over; the lifecycle resolves it. Rules never look at the clock or the store.

Findings other than health (cost and budget thresholds, forecasts, anomalies, underspend, fairness) arrive as
:class:`Finding` values: plain data that analysis hands over without this module knowing its types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis.status import AccountStatus, WindowStatus
from quotawarden.domain import Alert, Health, Outcome, Severity

HEALTH_SEVERITY = {Health.YELLOW: Severity.WARNING, Health.RED: Severity.CRITICAL}

KINDS = ("health", "key_invalid", "limited", "provider_down", "budget", "cost", "forecast", "anomaly",
         "underspend", "fairness", "provider_anomaly")
"""Every alert kind a rule can raise (the tags a channel can route on, besides account and provider ids)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One condition found by analysis, as plain data.

    ``subject`` identifies the condition within its kind (a budget name, a project, ``account/window``); the
    alert key is ``kind:subject``. ``severity`` None means "known and fine" and raises nothing.
    """

    kind: str
    subject: str
    severity: Severity | None
    message: str
    action: str = ""
    account_id: str | None = None
    window: str | None = None


def _hhmm(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _window_alert(status: AccountStatus, w: WindowStatus) -> Alert | None:
    severity = HEALTH_SEVERITY.get(w.status)
    if severity is None:
        return None
    a = status.account
    resets = f"; resets {_hhmm(w.sample.resets_at)}" if w.sample.resets_at else ""
    exhausts = f"; at this pace it runs out {_hhmm(w.exhausts_at)}" if w.exhausts_at else ""
    if severity is Severity.CRITICAL:
        action = (f"move work off {a.display} now (another account or pool), or wait for the reset"
                  if w.sample.resets_at else f"move work off {a.display} now, or raise its limit")
    else:
        action = f"plan ahead: prefer other accounts for heavy work until {a.display} {w.name} resets"
    return Alert(key=f"health:{a.id}:{w.name}", severity=severity, kind="health", account_id=a.id, window=w.name,
                 message=f"{a.display} ({a.provider}) {w.reason}{resets}{exhausts}", action=action)


def _outcome_alert(status: AccountStatus) -> Alert | None:
    a = status.account
    reason = status.reason
    if status.outcome is Outcome.INVALID:
        return Alert(key=f"key_invalid:{a.id}", severity=Severity.CRITICAL, kind="key_invalid", account_id=a.id,
                     message=f"{a.display} ({a.provider}): the provider rejects the credential ({reason})",
                     action=f"replace the key: `quotawarden keys rotate NAME` (account {a.id} uses "
                            f"{a.credential or 'no credential reference'})")
    if status.outcome in (Outcome.LIMITED, Outcome.OVERAGE):
        return Alert(key=f"limited:{a.id}", severity=Severity.CRITICAL, kind="limited", account_id=a.id,
                     message=f"{a.display} ({a.provider}) is rate limited or out of quota ({reason})",
                     action="route requests to another account until the limit resets")
    if status.outcome is Outcome.UNREACHABLE:
        return Alert(key=f"provider_down:{a.id}", severity=Severity.WARNING, kind="provider_down", account_id=a.id,
                     message=f"{a.display}: {a.provider} cannot be reached ({reason})",
                     action="check the provider's status page and your network; quotawarden keeps retrying")
    return None


def health_alerts(statuses: Iterable[AccountStatus]) -> list[Alert]:
    """YELLOW windows warn, RED windows are critical; a rejected key, a hard limit or an unreachable API too."""
    out: list[Alert] = []
    for s in statuses:
        if (outcome := _outcome_alert(s)) is not None:
            out.append(outcome)
        out.extend(a for w in s.windows if (a := _window_alert(s, w)) is not None)
    return out


def provider_down_alerts(statuses: Sequence[AccountStatus]) -> list[Alert]:
    """A whole provider is down when every account on it is unreachable (one critical alert, not N warnings)."""
    by_provider: dict[str, list[AccountStatus]] = {}
    for s in statuses:
        by_provider.setdefault(s.account.provider, []).append(s)
    out = []
    for provider, items in sorted(by_provider.items()):
        if len(items) > 1 and all(s.outcome is Outcome.UNREACHABLE for s in items):
            out.append(Alert(key=f"provider_down:{provider}", severity=Severity.CRITICAL, kind="provider_down",
                             message=f"{provider} is unreachable on all {len(items)} accounts",
                             action="check the provider's status page; switch agents to another provider"))
    return out


def finding_alerts(findings: Iterable[Finding]) -> list[Alert]:
    return [Alert(key=f"{f.kind}:{f.subject}", severity=f.severity, kind=f.kind, message=f.message,
                  action=f.action, account_id=f.account_id, window=f.window)
            for f in findings if f.severity is not None]


def findings_from_dicts(items: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """Findings handed over as dicts (``kind``, ``subject``, ``severity``, ``message``, ...); unknown keys ignored."""
    out = []
    for d in items:
        sev = d.get("severity")
        out.append(Finding(kind=str(d["kind"]), subject=str(d["subject"]),
                           severity=Severity(str(sev).lower()) if sev else None, message=str(d.get("message", "")),
                           action=str(d.get("action", "")), account_id=d.get("account_id"), window=d.get("window")))
    return out


def alert_tags(alert: Alert, provider: str | None = None, account_tags: Mapping[str, str] | None = None
               ) -> tuple[str, ...]:
    """What a channel's ``tags`` filter matches: the kind, the account id, the provider and ``key=value`` tags."""
    tags = [alert.kind]
    if alert.account_id:
        tags.append(alert.account_id)
    if provider:
        tags.append(provider)
    tags.extend(f"{k}={v}" for k, v in sorted((account_tags or {}).items()))
    return tuple(dict.fromkeys(tags))
