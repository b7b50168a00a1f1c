"""The status of every account: each window's health from its latest sample (:func:`analysis.health.decide`, the
one rule), the worst window sets the account's.

This is the contract behind ``quotawarden status --json``. Burn rate and exhaustion come from
``analysis.burn`` when history is available; without it those fields stay ``None``. ``burn_rate_per_hour`` is a
fraction of the limit per hour (0.1 = 10 %/h), like ``used_ratio``; the native-unit rate, the sample count, the
hard cap and the exhaustion verdict are extra keys of each window (see :func:`burn_extra`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis import health
from quotawarden.analysis.burn import BurnRate, Projection
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
    """When the window reaches 100 % at its burn rate, if before its reset."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    cap_reached_at: datetime | None = None
    """When the window reaches its hard cap at its burn rate, if before its reset."""
    age_s: float | None = None
    """Seconds since the reading."""
    stale: bool = False
    """The window reset since the reading, or the reading is older than the window: ``sample`` then carries no
    usage (used, remaining and the ratio are unknown), only what was read about the window itself."""

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
    retry_at: datetime | None = None
    """When a LIMITED account may be tried again (``AccountState.retry_at``)."""


def evaluate(accounts: Sequence[Account], latest: Iterable[QuotaSample], states: Mapping[str, AccountState],
             thresholds: HealthThresholds, now: datetime, *, policy: health.Policy | None = None,
             rates: Mapping[tuple[str, str], BurnRate] | None = None,
             services: Mapping[str, str] | None = None, errors: Mapping[str, float] | None = None,
             ) -> list[AccountStatus]:
    """Every account's status, each window judged by :func:`quotawarden.analysis.health.decide`. ``policy``
    defaults to ``thresholds`` with the built-in hard caps; ``rates`` (keyed by account id and window) add burn
    rate and exhaustion, ``services`` (provider -> status page state) and ``errors`` (account id -> 24 h error
    rate) add theirs."""
    by_account: dict[str, list[QuotaSample]] = defaultdict(list)
    for s in latest:
        by_account[s.account_id].append(s)
    pol = policy or health.Policy(thresholds.used_yellow, thresholds.used_red, thresholds.exhaust_days_yellow,
                                  thresholds.exhaust_days_red)
    rates, services, errors = rates or {}, services or {}, errors or {}
    return [combine(account, [window_status(s, account.provider, pol, now, rates.get((account.id, s.window)),
                                            services.get(account.provider), errors.get(account.id))
                              for s in by_account.get(account.id, [])], states.get(account.id))
            for account in accounts]


def window_status(s: QuotaSample, provider: str, pol: health.Policy, now: datetime, rate: BurnRate | None = None,
                  service: str | None = None, errors: float | None = None) -> WindowStatus:
    """One window judged at ``now``. A stale reading (``health.freshness``) keeps no usage and no burn rate: every
    view built on the result shows the window as unknown, never the old numbers as current."""
    w = health.Window(provider, s.window, s.effective_ratio, s.remaining, s.status, s.window_length_s, s.resets_at,
                      s.observed_at)
    v = health.decide(w, pol, now, rate=rate, service=service, errors=errors)
    if v.stale:
        s, rate = replace(s, used_ratio=None, used=None, remaining=None, status=None), None
    proj = v.projection
    return WindowStatus(s, Health(v.level), v.reason, rate.ratio_per_hour if rate else None,
                        proj.exhausts_at if proj and proj.exhausts_before_reset else None,
                        burn_extra(rate, proj, v.cap),
                        proj.cap_reached_at if proj and proj.cap_before_reset else None, v.age_s, v.stale)


def burn_extra(rate: BurnRate | None, proj: Projection | None, cap: float) -> dict[str, Any]:
    """The extra per-window keys of ``status --json`` that burn analysis adds."""
    return {
        "burn_units_per_hour": rate.units_per_hour if rate else None,
        "burn_samples": rate.samples if rate else 0,
        "hard_cap": cap,
        "minutes_to_exhaustion": proj.minutes_to_exhaustion if proj and proj.exhausts_before_reset else None,
        "minutes_to_cap": proj.minutes_to_cap if proj and proj.cap_before_reset else None,
        "projection": proj.message if proj else None,
    }


def combine(account: Account, windows: list[WindowStatus], state: AccountState | None) -> AccountStatus:
    """The worst window sets the account's status; an outcome such as INVALID or LIMITED overrides it."""
    outcome = state.outcome if state else (Outcome.OK if windows else Outcome.UNKNOWN)
    retry = state.retry_at if state else None
    observed = max((w.sample.observed_at for w in windows), default=state.observed_at if state else None)
    worst = Health(health.account_level((health.for_account(w.name, w.status.value) for w in windows),
                                        outcome.value))
    if outcome.value in health.BAD_OUTCOMES:
        reason = f"{outcome.value}: {state.reason}" if state and state.reason else outcome.value
        return AccountStatus(account, worst, reason, outcome, windows, observed, retry)
    if not windows:
        reason = (state.reason if state and state.reason else "no data yet")
        return AccountStatus(account, worst, f"{outcome.value}: {reason}", outcome, windows, observed, retry)
    ranked = sorted(windows, key=lambda w: (w.status.rank, w.sample.effective_ratio or 0), reverse=True)
    reason = ranked[0].reason
    if outcome.value in health.FAULT_OUTCOMES and state:
        reason = "; ".join(filter(None, (f"last probe {outcome.value}: {state.reason}", reason)))
    elif outcome is Outcome.THROTTLED and state:  # request-scoped: the windows judge, the refusal is told
        reason = "; ".join(filter(None, (f"{outcome.value}: {state.reason}", reason)))
    return AccountStatus(account, worst, reason, outcome, windows, observed, retry)


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
        "burn_rate_per_hour": w.burn_rate_per_hour, "exhausts_at": _iso(w.exhausts_at),
        "cap_reached_at": _iso(w.cap_reached_at), "age_s": None if w.age_s is None else round(w.age_s, 1),
        "stale": w.stale, **w.extra,
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
