"""Alert rules: pure functions from findings to the alerts that should be open right now.

Each rule returns :class:`~quotawarden.domain.Alert` candidates with a stable ``key`` (same condition, same
account, same window -> same key), so the lifecycle can de-duplicate. A condition that is absent from the
candidates is over; the lifecycle resolves it. Rules never look at the clock or the store.

Findings other than health (cost and budget thresholds, forecasts, anomalies, underspend, fairness) arrive as
:class:`Finding` values: plain data that analysis hands over without this module knowing its types.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from quotawarden.analysis.durations import human_duration
from quotawarden.analysis.status import AccountStatus, WindowStatus
from quotawarden.credentials import is_unavailable, scheme_of, unavailable_detail
from quotawarden.domain import Account, Alert, Health, Outcome, QuotaSample, Severity, Unit, window_scope

HEALTH_SEVERITY = {Health.YELLOW: Severity.WARNING, Health.RED: Severity.CRITICAL}

KINDS = ("health", "key_invalid", "auth_failure", "limited", "provider_down", "budget", "cost", "forecast", "anomaly",
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


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool the proxy fails over in (``autonomy.rotate_keys = "auto"``): a limit on one member is absorbed by the
    others, so it is at most a warning; the pool running out is the critical condition."""

    name: str
    members: tuple[str, ...]
    fallback: tuple[str, ...] = ()


class WindowKind(StrEnum):
    """What a window is, for advice that is true of it."""

    RATE = "rate"
    """A short bucket (a minute, an hour): it refills on its own, soon."""
    PLAN = "plan"
    """A plan or spend window (5 hours to a month): it comes back at its reset."""
    BALANCE = "balance"
    """A prepaid balance or credit: it never resets, it is topped up."""


RATE_WINDOW_MAX_S = 3600
_MONEY = frozenset({Unit.USD, Unit.CNY, Unit.CREDITS})


def window_kind(s: QuotaSample) -> WindowKind:
    if s.unit in _MONEY and s.resets_at is None and not s.window_length_s:
        return WindowKind.BALANCE
    if s.window_length_s is not None and s.window_length_s <= RATE_WINDOW_MAX_S:
        return WindowKind.RATE
    return WindowKind.PLAN


def _advice(status: AccountStatus, w: WindowStatus, severity: Severity, pool: Pool | None) -> str:
    a, s = status.account, w.sample
    kind = window_kind(s)
    at = f" at {_hhmm(s.resets_at)}" if s.resets_at else ""
    if (scope := window_scope(w.name)) is not None:
        return (f"{scope} on {a.display} is {'used up' if w.status is Health.RED else 'running low'} until its "
                f"{w.name} window resets{at}: send {scope} work to another account or use another model; "
                f"{a.display}'s other models still answer")
    if kind is WindowKind.BALANCE:
        advice = (f"top up the {a.provider} balance of {a.display} now (a balance never resets on its own)"
                  if severity is Severity.CRITICAL else
                  f"top up the {a.provider} balance of {a.display} before it runs out (it never resets on its own)")
    elif kind is WindowKind.RATE:
        refill = f"within {human_duration(s.window_length_s)}" if s.window_length_s else "shortly"
        advice = (f"{a.display} refuses requests until its {w.name} rate window refills ({refill}{at}): slow down "
                  "or spread requests over other accounts" if severity is Severity.CRITICAL else
                  f"{a.display}'s {w.name} rate window refills {refill}: spread bursts over other accounts or slow "
                  "down")
    elif severity is Severity.CRITICAL:
        advice = (f"move work off {a.display} now (another account or pool) until its {w.name} window resets{at}"
                  if s.resets_at else f"move work off {a.display} now, or raise its {w.name} limit")
    else:
        advice = (f"plan ahead: prefer other accounts for heavy work until {a.display}'s {w.name} window resets{at}"
                  if s.resets_at else f"plan ahead: prefer other accounts for heavy work, or raise {a.display}'s "
                  f"{w.name} limit")
    if pool is not None and severity is Severity.CRITICAL and kind is not WindowKind.BALANCE:
        back = "refills" if kind is WindowKind.RATE else "resets"
        return (f"nothing to do now: pool {pool.name} sends requests to its other accounts until {a.display}'s "
                f"{w.name} {back}{at}; if this happens often, add an account to the pool")
    return advice


def _window_alert(status: AccountStatus, w: WindowStatus, pool: Pool | None, refused: str) -> Alert | None:
    raw = HEALTH_SEVERITY.get(w.status)
    if raw is None:
        return None
    # in a failover pool, or a cap on one model only (the account's other models still answer): a warning
    severity = Severity.WARNING if pool is not None or window_scope(w.name) is not None else raw
    a = status.account
    resets = f"; resets {_hhmm(w.sample.resets_at)}" if w.sample.resets_at else ""
    exhausts = f"; at this pace it runs out {_hhmm(w.exhausts_at)}" if w.exhausts_at else ""
    absorbed = f" (pool {pool.name} took the requests elsewhere)" if pool is not None and refused else ""
    refusal = f"; requests were refused: {refused}{absorbed}" if refused and w.status is Health.RED else ""
    return Alert(key=f"health:{a.id}:{w.name}", severity=severity, kind="health", account_id=a.id, window=w.name,
                 message=f"{a.display} ({a.provider}) {w.reason}{resets}{exhausts}{refusal}",
                 action=_advice(status, w, raw, pool))


def _credential_advice(a: Account, reason: str) -> str:
    scheme, target = scheme_of(a.credential)
    again = f"then `quotawarden poll --account {a.id} --force`"
    if is_unavailable(reason):  # nothing reached the provider: the fix is on this machine
        if scheme == "env":
            return f"set {target} where quotawarden runs (the daemon's environment too), {again}"
        if scheme == "vault":
            return (f"make vault entry {target} readable here: set QUOTAWARDEN_VAULT_PASSPHRASE where quotawarden "
                    f"runs if the vault is locked, or add the entry with `quotawarden keys add {target}`; {again}")
        if scheme == "file":
            return f"make {target} readable by quotawarden (restore it, or log in again with its tool), {again}"
        return f"give account {a.id} a credential (`credential = \"env:VAR\"` or `vault:NAME`), {again}"
    if scheme == "vault":
        return f"replace the key: `quotawarden keys rotate {target}`"
    if scheme == "env":
        return f"put a valid key in {target} where quotawarden runs (the old one is refused), {again}"
    if scheme == "file":
        return f"replace the credential in {target} (an agent's login file: log in again with that tool), {again}"
    return f"replace account {a.id}'s key in the config (better: a `vault:` or `env:` reference), {again}"


LOGIN_AGAIN = {
    "claude": "sign in to Claude Code again (`claude`, then `/login`)",
    "codex": "sign in to Codex again (`codex login`)",
    "copilot": "sign in to GitHub Copilot again in your editor (or `gh auth login`) for a fresh GitHub token",
    "antigravity": "sign in to that Google account again in Antigravity (or the OpenCode Antigravity plug-in)",
    "gemini_cli": "sign in with Google again (`gemini`, then `/auth`)",
}
"""How to get a new sign-in for each OAuth provider; others get a generic sentence."""


def _login_advice(a: Account, reason: str) -> str:
    scheme, target = scheme_of(a.credential)
    again = f"then `quotawarden poll --account {a.id} --force`"
    how = LOGIN_AGAIN.get(a.provider, f"sign in to {a.provider} again for a fresh token")
    where = f" (it rewrites {target})" if scheme == "file" else (
        f", and store the new token with `quotawarden keys rotate {target}`" if scheme == "vault" else
        f", and put the new token in {target}" if scheme == "env" else "")
    if is_unavailable(reason):
        return f"make the sign-in readable here: {how}{where}; {again}"
    return f"the sign-in no longer works: {how}{where}; {again}"


def credential_alert(a: Account, reason: str, oauth: bool) -> Alert:
    """The one alert of an account whose credential does not work (an INVALID outcome): ``auth_failure`` for a
    sign-in (OAuth: expired and not refreshable, refreshed but refused, revoked), ``key_invalid`` for a key. One
    per account (the key is the kind and the account), so repeated polls update it and a probe that succeeds
    resolves it."""
    if is_unavailable(reason):
        what = ("its credential is not available here, so nothing was sent to the provider: "
                f"{unavailable_detail(reason)}")
    elif oauth:
        what = f"its sign-in is refused or expired and could not be refreshed ({reason})"
    else:
        what = f"the provider rejects the credential ({reason})"
    kind = "auth_failure" if oauth else "key_invalid"
    return Alert(key=f"{kind}:{a.id}", severity=Severity.CRITICAL, kind=kind, account_id=a.id,
                 message=f"{a.display} ({a.provider}): {what}",
                 action=_login_advice(a, reason) if oauth else _credential_advice(a, reason))


def _outcome_alert(status: AccountStatus, pool: Pool | None, oauth: bool = False) -> Alert | None:
    a = status.account
    reason = status.reason
    if status.outcome is Outcome.INVALID:
        return credential_alert(a, reason, oauth)
    if status.outcome is Outcome.OVERLOADED:
        return Alert(key=f"provider_down:{a.id}", severity=Severity.WARNING, kind="provider_down", account_id=a.id,
                     message=f"{a.display}: {a.provider} is overloaded ({reason}); not a limit of this account",
                     action="nothing to do on the account: retry shortly or send work to another provider; "
                            "quotawarden retries on its own")
    if status.outcome in (Outcome.LIMITED, Outcome.OVERAGE):
        if pool is not None:
            return Alert(key=f"limited:{a.id}", severity=Severity.WARNING, kind="limited", account_id=a.id,
                         message=f"{a.display} ({a.provider}) refused requests ({reason}); pool {pool.name} sent "
                                 "them to its other accounts",
                         action=f"nothing to do now: pool {pool.name} routes around {a.display} until its limit "
                                "resets; if this repeats, add an account to the pool")
        return Alert(key=f"limited:{a.id}", severity=Severity.CRITICAL, kind="limited", account_id=a.id,
                     message=f"{a.display} ({a.provider}) is rate limited or out of quota ({reason})",
                     action="route requests to another account until the limit resets")
    if status.outcome is Outcome.UNREACHABLE:
        return Alert(key=f"provider_down:{a.id}", severity=Severity.WARNING, kind="provider_down", account_id=a.id,
                     message=f"{a.display}: {a.provider} cannot be reached ({reason})",
                     action="check the provider's status page and your network; quotawarden keeps retrying")
    return None


def _absorbing(pools: Iterable[Pool]) -> dict[str, Pool]:
    """Account id -> the failover pool that absorbs its limits (a pool of two or more, or one with a fallback)."""
    out: dict[str, Pool] = {}
    for p in pools:
        if len(p.members) > 1 or p.fallback:
            for m in p.members:
                out.setdefault(m, p)
    return out


_REFUSED = frozenset({Outcome.LIMITED, Outcome.OVERAGE, Outcome.THROTTLED})


def health_alerts(statuses: Iterable[AccountStatus], pools: Iterable[Pool] = (),
                  oauth: Collection[str] = ()) -> list[Alert]:
    """One alert per account and window: YELLOW warns, RED is critical; a rejected or unreadable credential
    (:func:`credential_alert`; ``oauth`` names the providers whose credential is a sign-in), a limit, an overload
    and an unreachable API too. A request-scoped refusal (THROTTLED) raises nothing of its own: it is told in the
    alert of a window it emptied, if any. A limit that a RED window explains is told in that window's alert, not
    in a second one. In a failover pool (``pools``) an account's limits and windows are at most a warning: the
    pool absorbs them, and :func:`pool_alerts` says when it cannot."""
    absorbing = _absorbing(pools)
    out: list[Alert] = []
    for s in statuses:
        pool = absorbing.get(s.account.id)
        limited = s.outcome in _REFUSED
        refused = s.reason if limited else ""
        windows = [a for w in s.windows if (a := _window_alert(s, w, pool, refused)) is not None]
        explained = limited and any(w.status is Health.RED for w in s.windows)
        if not explained and (outcome := _outcome_alert(s, pool, s.account.provider in oauth)) is not None:
            out.append(outcome)
        out.extend(windows)
    return out


_UNUSABLE = frozenset({Outcome.LIMITED, Outcome.INVALID, Outcome.UNREACHABLE})


def pool_alerts(statuses: Iterable[AccountStatus], pools: Iterable[Pool]) -> list[Alert]:
    """A failover pool with no usable account left (each limited, rejected or unreachable): the proxy answers its
    clients 429 now. Critical, unless a fallback pool still has a usable account (then a warning)."""
    by_id = {s.account.id: s for s in statuses}
    pools = list(pools)
    usable = {p.name: any(m in by_id and by_id[m].outcome not in _UNUSABLE for m in p.members) for p in pools}
    out = []
    for p in pools:
        if usable[p.name] or not p.members or not all(m in by_id for m in p.members):
            continue
        spare = next((f for f in p.fallback if usable.get(f)), None)
        who = ", ".join(f"{m} {by_id[m].outcome.value}" for m in p.members)
        out.append(Alert(
            key=f"limited:pool:{p.name}", severity=Severity.WARNING if spare else Severity.CRITICAL, kind="limited",
            message=f"pool {p.name} has no usable account ({who})" + (
                f"; requests go to fallback pool {spare}" if spare else "; the proxy refuses its requests (429)"),
            action=(f"add an account to pool {p.name}, or wait until its members' limits reset" if spare else
                    f"add an account to pool {p.name} or a fallback pool (`fallback = [...]`), or wait until its "
                    "members' limits reset")))
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
