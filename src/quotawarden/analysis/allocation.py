"""Budget allocation and the PROCEED / PROCEED_SMALL_ONLY / STOP recommendation for agent instances.

Compatible with the quota-sentinel API: a provider's hard cap (percent of a window) is divided across the
instances subscribed to it, weighted by state (active 1.0, idle 0.3, paused 0.0) and multiplied by an overcommit
factor (never above the cap itself). A window is RED at or over its allocated cap, YELLOW when its burn rate
would reach the cap within the safety margin, GREEN otherwise. Claude instances are told to STOP on any RED;
opencode instances, which fall back to other providers on their own, only when every provider is RED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from quotawarden.domain import Health

STATE_WEIGHTS: Mapping[str, float] = {"active": 1.0, "idle": 0.3, "paused": 0.0}
DEFAULT_CAP = 85.0
# Defaults in percent, keyed like quota-sentinel (provider_window / provider_default).
DEFAULT_CAPS: Mapping[str, float] = {
    "claude_5h": 80.0, "claude_7d": 90.0, "copilot_monthly": 85.0, "zai_default": 80.0,
    "minimax_default": 85.0, "deepseek_default": 85.0, "alibaba_default": 80.0,
}
_WINDOW_ALIASES: Mapping[str, str] = {"five_hour": "5h", "seven_day": "7d", "seven_day_opus": "7d_opus"}


class Recommendation(StrEnum):
    PROCEED = "PROCEED"
    PROCEED_SMALL_ONLY = "PROCEED_SMALL_ONLY"
    STOP = "STOP"


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: str
    state: str


def weights(subscribers: Sequence[Subscriber]) -> dict[str, float]:
    """Each instance's share of a provider's budget (sums to 1; all paused means equal shares)."""
    raw = {s.id: STATE_WEIGHTS.get(s.state, 1.0) for s in subscribers}
    total = sum(raw.values())
    if total == 0:
        return {i: 1.0 / len(raw) for i in raw} if raw else {}
    return {i: w / total for i, w in raw.items()}


def allocate(base_cap: float, share: float, overcommit: float) -> float:
    return min(base_cap * share * overcommit, base_cap)


def normalise_cap_key(key: str) -> str:
    provider, _, window = key.partition("_")
    if "/" in key:
        provider, _, window = key.partition("/")
    window = _WINDOW_ALIASES.get(window, window)
    return f"{provider}_{'default' if window in ('*', '') else window}"


def hard_cap(provider: str, window: str, *overrides: Mapping[str, float]) -> float:
    """The cap in percent: the first override layer that names it (most specific first), else the defaults."""
    for layer in (*overrides, DEFAULT_CAPS):
        norm = {normalise_cap_key(k): v for k, v in layer.items()}
        for key in (f"{provider}_{window}", f"{provider}_default"):
            if key in norm:
                value = norm[key]
                return value * 100 if value <= 1.0 else value
    return DEFAULT_CAP


def window_health(utilization: float, velocity_pct_per_hour: float, cap: float, safety_margin_min: float) -> Health:
    if utilization >= cap:
        return Health.RED
    if velocity_pct_per_hour > 0:
        minutes_left = (cap - utilization) / velocity_pct_per_hour * 60
        if minutes_left <= safety_margin_min:
            return Health.RED
        if utilization >= cap - velocity_pct_per_hour * safety_margin_min / 60 * 2:
            return Health.YELLOW
    if utilization >= cap * 0.9:
        return Health.YELLOW
    return Health.GREEN


def exhaustion_minutes(utilization: float, velocity_pct_per_hour: float, cap: float) -> int | None:
    if utilization >= cap:
        return 0
    if velocity_pct_per_hour <= 0:
        return None
    return round((cap - utilization) / velocity_pct_per_hour * 60)


def recommend(framework: str, provider_status: Mapping[str, Health]) -> tuple[Recommendation, list[str], bool]:
    """(recommendation, GREEN alternatives, all exhausted) from the status of each provider with data."""
    known = {p: s for p, s in provider_status.items() if s is not Health.UNKNOWN}
    worst = Health.worst(list(known.values()))
    green = sorted(p for p, s in known.items() if s is Health.GREEN)
    exhausted = bool(known) and all(s is Health.RED for s in known.values())
    if framework == "claude":
        if worst is Health.RED:
            return Recommendation.STOP, green, exhausted
    elif exhausted:
        return Recommendation.STOP, green, exhausted
    elif worst is Health.RED and green:
        return Recommendation.PROCEED, green, exhausted
    if worst is Health.YELLOW or (worst is Health.RED and framework != "claude"):
        return Recommendation.PROCEED_SMALL_ONLY, green, exhausted
    return Recommendation.PROCEED, green, exhausted
