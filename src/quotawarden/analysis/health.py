"""The health of a quota window: the one rule behind every view (``status``, ``summary``, the dashboard, the API,
the MCP tools, ``/metrics``).

:func:`decide` takes plain values: the window (:class:`Window`), the ``[thresholds]`` of the config
(:class:`Policy`), the window's burn rate, the provider's status page and the account's 24 h error rate. Each
criterion yields a (level, reason); the worst known one wins and its reason is kept:

- utilisation: at or over the window's hard cap RED, over ``used_red`` RED, at or over ``used_yellow`` YELLOW; a
  window the provider rejected, or with nothing remaining, RED; no ratio at all UNKNOWN;
- projected exhaustion: reaching the cap before the reset YELLOW, RED when that is closer than
  ``exhaust_days_red`` days, shrunk in proportion for windows shorter than 30 days (a 5-hour window turns RED when
  it would run out within ~70 minutes);
- the 24 h error rate: ``error_rate_yellow`` and over YELLOW, over ``error_rate_red`` RED;
- the provider's status page: degraded or a partial outage YELLOW, down or a major outage RED; an operational or
  unknown page changes nothing.

The hard cap of a window is ``hard_caps["provider/window"]``, else :data:`DEFAULT_HARD_CAPS`, else
``default_cap``; a window that would reach it within ``fast_share`` of its length has it lowered by
``safety_margin``. An account takes its worst window's level (:func:`account_level`).

Levels are the values of :class:`quotawarden.domain.Health` (a ``StrEnum``) as plain strings, so the fast paths
import this module without the domain's dataclasses: keep it cheap (``python -X importtime``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from quotawarden.analysis.burn import BurnRate, Projection, project

Level = Literal["GREEN", "YELLOW", "RED", "UNKNOWN"]
RANK: Mapping[str, int] = {"UNKNOWN": 0, "GREEN": 1, "YELLOW": 2, "RED": 3}
BAD_OUTCOMES = frozenset({"INVALID", "LIMITED", "OVERAGE"})
"""Outcomes of the last probe that make an account RED whatever its windows say."""
SERVICE_RED = frozenset({"down", "major_outage"})
SERVICE_YELLOW = frozenset({"degraded", "partial_outage", "degraded_performance"})

DEFAULT_HARD_CAPS: Mapping[str, float] = MappingProxyType({
    "claude/5h": 0.80, "claude/7d": 0.90, "claude/7d_opus": 0.90, "claude/7d_sonnet": 0.90,
    "codex/5h": 0.85, "codex/7d": 0.90, "copilot/monthly": 0.85, "copilot/premium_interactions": 0.85,
})
"""``provider/window`` -> the utilisation treated as exhausted. Others default to :attr:`Policy.default_cap`."""

_MONTH_S = 30 * 86400
Judgement = tuple[Level, str]


class Policy(NamedTuple):
    """The ``[thresholds]`` section of the config."""

    used_yellow: float = 0.5
    used_red: float = 0.8
    exhaust_days_yellow: float = 14
    exhaust_days_red: float = 7
    error_rate_yellow: float = 0.001
    error_rate_red: float = 0.05
    safety_margin: float = 0.05
    hard_caps: Mapping[str, float] = MappingProxyType({})
    default_cap: float = 0.85
    fast_share: float = 0.25
    """A window is burning fast when it would reach its cap within this share of its length."""

    def cap(self, provider: str, window: str) -> float:
        key = f"{provider}/{window}"
        return self.hard_caps.get(key, DEFAULT_HARD_CAPS.get(key, self.default_cap))

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> Policy:
        """From a ``[thresholds]`` table (the validated settings, or the raw TOML of the fast paths)."""
        numbers = {k: float(section[k]) for k in cls._fields if k != "hard_caps" and section.get(k) is not None}
        caps = section.get("hard_caps") or {}
        return cls()._replace(**numbers, hard_caps={str(k): float(v) for k, v in dict(caps).items()})


class Window(NamedTuple):
    """One window as health sees it, in plain values (the full store and the fast path build it alike)."""

    provider: str
    name: str
    ratio: float | None
    """The used fraction: stated, or derived from used/remaining/limit."""
    remaining: float | None = None
    provider_status: str | None = None
    """What the provider said of the window; ``rejected`` makes it RED."""
    length_s: float | None = None
    resets_at: datetime | None = None


class Verdict(NamedTuple):
    level: Level
    reason: str
    cap: float
    """The hard cap applied (lowered by the safety margin when the window burns fast)."""
    projection: Projection | None
    """When the window reaches that cap at its burn rate (None without a rate)."""


def decide(w: Window, policy: Policy, now: datetime, *, rate: BurnRate | None = None, service: str | None = None,
           errors: float | None = None) -> Verdict:
    """The window's health: the worst of every criterion that has an opinion, with its reason (on a tie, the
    exhaustion projection's reason wins: it says more than the utilisation)."""
    cap, fast = effective_cap(policy, w.provider, w.name, rate, w.length_s)
    proj = project(rate, w.resets_at, now, cap) if rate is not None else None
    used = utilisation(w, policy, cap)
    others = [v for v in (exhaustion(w, proj, policy, now), service_health(service), error_rate(errors, policy))
              if v is not None]
    known = [v for v in [*others, used] if v[0] != "UNKNOWN"]
    if not known:
        return Verdict(used[0], used[1], cap, proj)
    level, reason = max(known, key=lambda v: RANK[v[0]])
    reason = reason or used[1]
    if fast and level != "GREEN":
        reason += f" (burning fast: cap lowered to {cap:.0%})"
    return Verdict(level, reason, cap, proj)


def account_level(levels: Iterable[str], outcome: str | None = None) -> Level:
    """An account's health: RED after an INVALID, LIMITED or OVERAGE probe, else its worst known window's."""
    if outcome in BAD_OUTCOMES:
        return "RED"
    worst: Level = "UNKNOWN"
    for level in levels:
        if RANK[level] > RANK[worst]:
            worst = level  # type: ignore[assignment]
    return worst


def effective_cap(policy: Policy, provider: str, window: str, rate: BurnRate | None,
                  window_length_s: float | None) -> tuple[float, bool]:
    """The hard cap, lowered by the safety margin when the window burns fast. Returns (cap, fast)."""
    cap = policy.cap(provider, window)
    if rate is None or not rate.ratio_per_hour or rate.ratio_per_hour <= 0 or not window_length_s:
        return cap, False
    fast = rate.ratio_per_hour * window_length_s / 3600 * policy.fast_share >= cap
    return (max(0.0, cap - policy.safety_margin) if fast else cap), fast


def _scale(window_length_s: float | None) -> float:
    return 1.0 if not window_length_s else min(1.0, window_length_s / _MONTH_S)


def utilisation(w: Window, policy: Policy, cap: float) -> Judgement:
    if w.provider_status == "rejected":
        return "RED", f"{w.name}: rejected by the provider"
    ratio = w.ratio
    if ratio is None:
        if w.remaining is not None and w.remaining <= 0:
            return "RED", f"{w.name}: nothing remaining"
        return "UNKNOWN", f"{w.name}: no utilisation reported"
    pct = f"{ratio * 100:.0f}%"
    if ratio >= cap:
        return "RED", f"{w.name} at {pct} (hard cap {cap:.0%})"
    if ratio > policy.used_red:
        return "RED", f"{w.name} at {pct} (> {policy.used_red:.0%})"
    if ratio >= policy.used_yellow:
        return "YELLOW", f"{w.name} at {pct} (>= {policy.used_yellow:.0%})"
    return "GREEN", f"{w.name} at {pct}"


def exhaustion(w: Window, proj: Projection | None, policy: Policy, now: datetime) -> Judgement | None:
    if proj is None or proj.exhausts_at is None:
        return None
    if not proj.exhausts_before_reset:
        return "GREEN", ""
    days = max(0.0, (proj.exhausts_at - now).total_seconds() / 86400)
    msg = f"{w.name}: {proj.message}"
    if days < policy.exhaust_days_red * _scale(w.length_s):
        return "RED", msg
    return "YELLOW", msg  # running out before the reset is worth a warning however far off


def service_health(state: str | None) -> Judgement | None:
    if state in SERVICE_RED:
        return "RED", f"service {state}"
    if state in SERVICE_YELLOW:
        return "YELLOW", f"service {state}"
    return None


def error_rate(rate: float | None, policy: Policy) -> Judgement | None:
    if rate is None:
        return None
    if rate > policy.error_rate_red:
        return "RED", f"error rate {rate:.1%} over 24h"
    if rate >= policy.error_rate_yellow:
        return "YELLOW", f"error rate {rate:.1%} over 24h"
    return "GREEN", ""


__all__ = ["BAD_OUTCOMES", "DEFAULT_HARD_CAPS", "Level", "Policy", "Verdict", "Window", "account_level", "decide",
           "effective_cap"]
