"""Health of one window from utilisation, time to exhaustion, hard caps, service health and error rate.

Each criterion yields a (health, reason); the worst wins and its reason is kept. Thresholds come from the config's
``[thresholds]`` section (:class:`Policy`); the exhaustion thresholds are days for long windows and shrink in
proportion for windows shorter than 30 days (a 5-hour window turns RED when it would run out within ~70 minutes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from quotawarden.analysis.burn import BurnRate, Projection, human
from quotawarden.domain import Health, QuotaSample

DEFAULT_HARD_CAPS: dict[str, float] = {
    "claude/5h": 0.80, "claude/7d": 0.90, "claude/7d_opus": 0.90, "claude/7d_sonnet": 0.90,
    "codex/5h": 0.85, "codex/7d": 0.90, "copilot/monthly": 0.85, "copilot/premium_interactions": 0.85,
}
"""``provider/window`` -> the utilisation treated as exhausted. Others default to :attr:`Policy.default_cap`."""

_MONTH_S = 30 * 86400


@dataclass(frozen=True, slots=True)
class Policy:
    used_yellow: float = 0.5
    used_red: float = 0.8
    exhaust_days_yellow: float = 14
    exhaust_days_red: float = 7
    error_rate_yellow: float = 0.001
    error_rate_red: float = 0.05
    safety_margin: float = 0.05
    hard_caps: Mapping[str, float] = field(default_factory=dict)
    default_cap: float = 0.85
    fast_share: float = 0.25
    """A window is burning fast when it would reach its cap within this share of its length."""

    def cap(self, provider: str, window: str) -> float:
        key = f"{provider}/{window}"
        return self.hard_caps.get(key, DEFAULT_HARD_CAPS.get(key, self.default_cap))


def effective_cap(policy: Policy, provider: str, window: str, rate: BurnRate | None,
                  window_length_s: int | None) -> tuple[float, bool]:
    """The hard cap, lowered by the safety margin when the window burns fast. Returns (cap, fast)."""
    cap = policy.cap(provider, window)
    if rate is None or not rate.ratio_per_hour or rate.ratio_per_hour <= 0 or not window_length_s:
        return cap, False
    fast = rate.ratio_per_hour * window_length_s / 3600 * policy.fast_share >= cap
    return (max(0.0, cap - policy.safety_margin) if fast else cap), fast


def _scale(window_length_s: int | None) -> float:
    return 1.0 if not window_length_s else min(1.0, window_length_s / _MONTH_S)


def utilisation(s: QuotaSample, policy: Policy, cap: float) -> tuple[Health, str]:
    if s.status == "rejected":
        return Health.RED, f"{s.window}: rejected by the provider"
    ratio = s.effective_ratio
    if ratio is None:
        if s.remaining is not None and s.remaining <= 0:
            return Health.RED, f"{s.window}: nothing remaining"
        return Health.UNKNOWN, f"{s.window}: no utilisation reported"
    pct = f"{ratio * 100:.0f}%"
    if ratio >= cap:
        return Health.RED, f"{s.window} at {pct} (hard cap {cap:.0%})"
    if ratio > policy.used_red:
        return Health.RED, f"{s.window} at {pct} (> {policy.used_red:.0%})"
    if ratio >= policy.used_yellow:
        return Health.YELLOW, f"{s.window} at {pct} (>= {policy.used_yellow:.0%})"
    return Health.GREEN, f"{s.window} at {pct}"


def exhaustion(s: QuotaSample, proj: Projection | None, policy: Policy, now: datetime) -> tuple[Health, str] | None:
    if proj is None or proj.exhausts_at is None:
        return None
    if not proj.exhausts_before_reset:
        return Health.GREEN, ""
    days = max(0.0, (proj.exhausts_at - now).total_seconds() / 86400)
    msg = f"{s.window}: {proj.message}"
    if days < policy.exhaust_days_red * _scale(s.window_length_s):
        return Health.RED, msg
    return Health.YELLOW, msg  # running out before the reset is worth a warning however far off


def service_health(state: str | None) -> tuple[Health, str] | None:
    if state in ("down", "major_outage"):
        return Health.RED, f"service {state}"
    if state in ("degraded", "partial_outage", "degraded_performance"):
        return Health.YELLOW, f"service {state}"
    return None


def error_rate(rate: float | None, policy: Policy) -> tuple[Health, str] | None:
    if rate is None:
        return None
    if rate > policy.error_rate_red:
        return Health.RED, f"error rate {rate:.1%} over 24h"
    if rate >= policy.error_rate_yellow:
        return Health.YELLOW, f"error rate {rate:.1%} over 24h"
    return Health.GREEN, ""


def window_health(s: QuotaSample, provider: str, rate: BurnRate | None, proj: Projection | None, policy: Policy,
                  now: datetime, *, service: str | None = None, errors: float | None = None
                  ) -> tuple[Health, str]:
    """The worst of every criterion that has an opinion, with its reason (on a tie, the exhaustion projection's
    reason wins: it says more than the utilisation)."""
    cap, fast = effective_cap(policy, provider, s.window, rate, s.window_length_s)
    used = utilisation(s, policy, cap)
    others = [v for v in (exhaustion(s, proj, policy, now), service_health(service), error_rate(errors, policy))
              if v is not None]
    known = [v for v in [*others, used] if v[0] is not Health.UNKNOWN]
    if not known:
        return used
    worst = max(known, key=lambda v: v[0].rank)
    reason = worst[1] or used[1]
    if fast and worst[0] is not Health.GREEN:
        reason += f" (burning fast: cap lowered to {cap:.0%})"
    return worst[0], reason


def describe_rate(rate: BurnRate) -> str:
    if rate.percent_per_hour is None:
        return "-"
    return f"{rate.percent_per_hour:+.1f}%/h over {rate.samples} samples"


__all__ = ["DEFAULT_HARD_CAPS", "Policy", "describe_rate", "effective_cap", "human", "window_health"]
