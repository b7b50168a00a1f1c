"""The status of every account: each window's health from its latest sample, the worst window sets the account's.

This is the contract behind ``quotawarden status --json``. Burn rate and exhaustion come from
``analysis.burn`` when history is available; without it those fields stay ``None``. ``burn_rate_per_hour`` is a
fraction of the limit per hour (0.1 = 10 %/h), like ``used_ratio``; the native-unit rate, the sample count, the
hard cap and the exhaustion verdict are extra keys of each window (see :func:`burn_extra`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis import health
from quotawarden.analysis.burn import BurnRate, Projection, project
from quotawarden.domain import Account, AccountState, Health, Outcome, QuotaSample


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    used_yellow: float = 0.5
    used_red: float = 0.8
    exhaust_days_yellow: float = 14
    exhaust_days_red: float = 7


@dataclass(frozen=True, slots=True)
class WindowStatus:
    sample: QuotaSample
    status: Health
    reason: str
    burn_rate_per_hour: float | None = None
    exhausts_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.sample.window


@dataclass(frozen=True, slots=True)
class AccountStatus:
    account: Account
    status: Health
    reason: str
    outcome: Outcome
    windows: list[WindowStatus]
    observed_at: datetime | None = None


_BAD_OUTCOMES = {Outcome.INVALID: Health.RED, Outcome.LIMITED: Health.RED, Outcome.OVERAGE: Health.RED}


def window_health(s: QuotaSample, th: HealthThresholds) -> tuple[Health, str]:
    """Health of one window from utilisation alone (analysis.health refines it with velocity and caps)."""
    if s.status == "rejected":
        return Health.RED, f"{s.window}: rejected by the provider"
    ratio = s.effective_ratio
    if ratio is None:
        if s.remaining is not None and s.remaining <= 0:
            return Health.RED, f"{s.window}: nothing remaining"
        return Health.UNKNOWN, f"{s.window}: no utilisation reported"
    pct = f"{ratio * 100:.0f}%"
    if ratio > th.used_red:
        return Health.RED, f"{s.window} at {pct} (> {th.used_red:.0%})"
    if ratio >= th.used_yellow:
        return Health.YELLOW, f"{s.window} at {pct} (>= {th.used_yellow:.0%})"
    return Health.GREEN, f"{s.window} at {pct}"


def evaluate(accounts: Sequence[Account], latest: Iterable[QuotaSample], states: Mapping[str, AccountState],
             thresholds: HealthThresholds, now: datetime, *, policy: health.Policy | None = None,
             rates: Mapping[tuple[str, str], BurnRate] | None = None,
             services: Mapping[str, str] | None = None, errors: Mapping[str, float] | None = None,
             ) -> list[AccountStatus]:
    """Every account's status. With ``rates`` (keyed by account id and window) windows gain burn rate,
    exhaustion and the hard-cap/velocity criteria; ``services`` (provider -> ``degraded``/``down``) and
    ``errors`` (account id -> 24 h error rate) add theirs."""
    by_account: dict[str, list[QuotaSample]] = defaultdict(list)
    for s in latest:
        by_account[s.account_id].append(s)
    if policy is None and rates is None and not services and not errors:
        return [combine(a, [WindowStatus(s, *window_health(s, thresholds)) for s in by_account.get(a.id, [])],
                        states.get(a.id)) for a in accounts]
    pol = policy or health.Policy(thresholds.used_yellow, thresholds.used_red, thresholds.exhaust_days_yellow,
                                  thresholds.exhaust_days_red)
    out = []
    for account in accounts:
        windows = [_rich_window(s, account, pol, (rates or {}).get((account.id, s.window)), now,
                                (services or {}).get(account.provider), (errors or {}).get(account.id))
                   for s in by_account.get(account.id, [])]
        out.append(combine(account, windows, states.get(account.id)))
    return out


def _rich_window(s: QuotaSample, account: Account, pol: health.Policy, rate: BurnRate | None, now: datetime,
                 service: str | None, errors: float | None) -> WindowStatus:
    cap, _ = health.effective_cap(pol, account.provider, s.window, rate, s.window_length_s)
    proj = project(rate, s.resets_at, now, cap) if rate is not None else None
    status, reason = health.window_health(s, account.provider, rate, proj, pol, now, service=service,
                                          errors=errors)
    return WindowStatus(s, status, reason, rate.ratio_per_hour if rate else None,
                        proj.exhausts_at if proj and proj.exhausts_before_reset else None,
                        burn_extra(rate, proj, cap))


def burn_extra(rate: BurnRate | None, proj: Projection | None, cap: float) -> dict[str, Any]:
    """The extra per-window keys of ``status --json`` that burn analysis adds."""
    return {
        "burn_units_per_hour": rate.units_per_hour if rate else None,
        "burn_samples": rate.samples if rate else 0,
        "hard_cap": cap,
        "minutes_to_exhaustion": proj.minutes_to_exhaustion if proj and proj.exhausts_before_reset else None,
        "projection": proj.message if proj else None,
    }


def combine(account: Account, windows: list[WindowStatus], state: AccountState | None) -> AccountStatus:
    """The worst window sets the account's status; an outcome such as INVALID or LIMITED overrides it."""
    outcome = state.outcome if state else (Outcome.OK if windows else Outcome.UNKNOWN)
    observed = max((w.sample.observed_at for w in windows), default=state.observed_at if state else None)
    if outcome in _BAD_OUTCOMES:
        reason = f"{outcome.value}: {state.reason}" if state and state.reason else outcome.value
        return AccountStatus(account, _BAD_OUTCOMES[outcome], reason, outcome, windows, observed)
    if not windows:
        reason = (state.reason if state and state.reason else "no data yet")
        return AccountStatus(account, Health.UNKNOWN, f"{outcome.value}: {reason}", outcome, windows, observed)
    worst = Health.worst([w.status for w in windows])
    ranked = sorted(windows, key=lambda w: (w.status.rank, w.sample.effective_ratio or 0), reverse=True)
    reason = ranked[0].reason
    if outcome in (Outcome.ERROR, Outcome.UNREACHABLE) and state:
        reason = f"{reason}; last probe {outcome.value}: {state.reason}"
    return AccountStatus(account, worst, reason, outcome, windows, observed)


def overall(statuses: Iterable[AccountStatus]) -> dict[str, int]:
    counts = {h.value: 0 for h in (Health.RED, Health.YELLOW, Health.GREEN, Health.UNKNOWN)}
    for s in statuses:
        counts[s.status.value] += 1
    return counts


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def window_json(w: WindowStatus) -> dict[str, Any]:
    s = w.sample
    return {
        "name": s.window, "used_ratio": s.effective_ratio, "used": s.used, "remaining": s.remaining,
        "limit": s.limit, "unit": s.unit.value, "resets_at": _iso(s.resets_at), "status": w.status.value,
        "reason": w.reason, "provider_status": s.status, "source": s.source.value,
        "provenance": s.provenance.value, "observed_at": _iso(s.observed_at),
        "burn_rate_per_hour": w.burn_rate_per_hour, "exhausts_at": _iso(w.exhausts_at), **w.extra,
    }


def status_json(statuses: Sequence[AccountStatus], counts: Mapping[str, int], now: datetime) -> dict[str, Any]:
    """The documented, stable shape of ``status --json`` (docs/status-json.md)."""
    return {
        "generated_at": _iso(now),
        "overall": dict(counts),
        "accounts": [{
            "id": s.account.id, "provider": s.account.provider, "label": s.account.label,
            "plan": s.account.plan, "pool": s.account.pool, "status": s.status.value, "reason": s.reason,
            "outcome": s.outcome.value, "observed_at": _iso(s.observed_at),
            "windows": [window_json(w) for w in s.windows],
        } for s in statuses],
    }
