"""The health of a quota window: the one rule behind every view (``status``, ``summary``, the dashboard, the API,
the MCP tools, ``/metrics``).

:func:`decide` takes plain values: the window (:class:`Window`), the ``[thresholds]`` of the config
(:class:`Policy`), the window's burn rate, the provider's status page and the account's 24 h error rate. Each
criterion yields a (level, reason); the worst known one wins and its reason is kept:

- freshness: a reading whose window has reset since (its ``resets_at`` has passed) or that is older than the
  window's own length says nothing about the window now: it is *stale*, its utilisation unknown, its health UNKNOWN
  ("5h: reset 3h ago, no reading since"), whatever the old ratio was (:func:`freshness`);
- utilisation: at or over the window's hard cap RED, over ``used_red`` RED, at or over ``used_yellow`` YELLOW; a
  window the provider rejected, or with nothing remaining, RED; no ratio at all UNKNOWN;
- projected cap: reaching the hard cap before the reset YELLOW, RED when that is closer than
  ``exhaust_days_red`` days, shrunk in proportion for windows shorter than 30 days (a 5-hour window turns RED when
  it would reach its cap within ~70 minutes). Reaching the cap (``cap_reached_at``) and exhaustion, the provider's
  own 100 % (``exhausts_at``), are told apart: "reaches its 80% cap in 40m; exhausted in 1h10m";
- the 24 h error rate: ``error_rate_yellow`` and over YELLOW, over ``error_rate_red`` RED;
- the provider's status page: degraded or a partial outage YELLOW, down or a major outage RED; an operational or
  unknown page changes nothing.

The hard cap of a window is ``hard_caps["provider/window"]``, else :data:`DEFAULT_HARD_CAPS`, else
``default_cap``; a window that would reach it within ``fast_share`` of its length has it lowered by
``safety_margin``. An account takes its worst window's level (:func:`account_level`).

Levels are the values of :class:`quotawarden.domain.Health` (a ``StrEnum``) as plain strings, so the fast paths
import this module without the domain's dataclasses: keep it cheap (``python -X importtime``).
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations written as strings cost a
# ``compile()`` each on import (~20 us a field), which the ``summary`` fast path pays on every call.
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from quotawarden.analysis.burn import BurnRate, Projection, project
from quotawarden.analysis.durations import human_duration
from quotawarden.naming import window_scope

Level = Literal["GREEN", "YELLOW", "RED", "UNKNOWN"]
RANK: Mapping[str, int] = {"UNKNOWN": 0, "GREEN": 1, "YELLOW": 2, "RED": 3}
BAD_OUTCOMES = frozenset({"INVALID", "LIMITED", "OVERAGE"})
"""Outcomes of the last probe that make an account RED whatever its windows say."""
FAULT_OUTCOMES = frozenset({"ERROR", "UNREACHABLE", "OVERLOADED"})
"""Outcomes of the last probe that make an account at least YELLOW: its numbers may be old, nobody should trust
them unchecked (``status --check`` exits 10 for it)."""
SERVICE_RED = frozenset({"down", "major_outage"})
SERVICE_YELLOW = frozenset({"degraded", "partial_outage", "degraded_performance"})

DEFAULT_HARD_CAPS: Mapping[str, float] = MappingProxyType({
    "claude/5h": 0.80, "claude/7d": 0.90, "claude/7d_opus": 0.90, "claude/7d_sonnet": 0.90,
    "codex/5h": 0.85, "codex/7d": 0.90, "copilot/premium": 0.85,
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
    def from_mapping(cls, section: Mapping[str, Any]) -> "Policy":
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
    observed_at: datetime | None = None
    """When the reading was taken; None means "now" (no age, never stale)."""


class Freshness(NamedTuple):
    age_s: float | None
    """Seconds since the reading (None when its time is unknown)."""
    stale: bool
    """The reading no longer describes the window: it has reset since, or the reading is older than its length."""
    reset: bool
    """The window's stated reset time has passed since the reading."""


def freshness(w: Window, now: datetime) -> Freshness:
    """How old the reading is, and whether it still describes the window at ``now``.

    After its reset a window's usage is unknown, not zero: the account may have been used since by something
    quotawarden does not see (another machine, the provider's own app), so only a new reading tells.
    """
    if w.observed_at is None:
        return Freshness(None, False, False)
    age = max(0.0, (now - w.observed_at).total_seconds())
    reset = w.resets_at is not None and w.resets_at <= now
    return Freshness(age, reset or (bool(w.length_s) and age > float(w.length_s or 0)), reset)


class Verdict(NamedTuple):
    level: Level
    reason: str
    cap: float
    """The hard cap applied (lowered by the safety margin when the window burns fast)."""
    projection: Projection | None
    """When the window reaches that cap, and 100 %, at its burn rate (None without a rate, or when stale)."""
    age_s: float | None = None
    stale: bool = False
    """The reading is stale (:func:`freshness`): its utilisation is unknown and it was not judged on it."""


def decide(w: Window, policy: Policy, now: datetime, *, rate: BurnRate | None = None, service: str | None = None,
           errors: float | None = None) -> Verdict:
    """The window's health: the worst of every criterion that has an opinion, with its reason (on a tie, the
    exhaustion projection's reason wins: it says more than the utilisation). A stale reading is UNKNOWN whatever
    its old ratio and rate (:func:`freshness`); the service page and the error rate still count."""
    fresh = freshness(w, now)
    if fresh.stale:
        cap = policy.cap(w.provider, w.name)
        stale = stale_reason(w, fresh, now)
        others = [v for v in (service_health(service), error_rate(errors, policy)) if v is not None and v[1]]
        if others:
            level, reason = max(others, key=lambda v: RANK[v[0]])
            return Verdict(level, f"{reason}; {stale}", cap, None, fresh.age_s, True)
        return Verdict("UNKNOWN", stale, cap, None, fresh.age_s, True)
    cap, fast = effective_cap(policy, w.provider, w.name, rate, w.length_s)
    proj = project(rate, w.resets_at, now, cap) if rate is not None else None
    used = utilisation(w, policy, cap)
    others = [v for v in (exhaustion(w, proj, policy, now), service_health(service), error_rate(errors, policy))
              if v is not None]
    known = [v for v in [*others, used] if v[0] != "UNKNOWN"]
    if not known:
        return Verdict(used[0], used[1], cap, proj, fresh.age_s)
    level, reason = max(known, key=lambda v: RANK[v[0]])
    reason = reason or used[1]
    if fast and level != "GREEN":
        reason += f" (burning fast: cap lowered to {cap:.0%})"
    return Verdict(level, reason, cap, proj, fresh.age_s)


def stale_reason(w: Window, fresh: Freshness, now: datetime) -> str:
    """``5h: reset 3h00m ago, no reading since`` or ``5h: stale, read 2d04h ago``."""
    if fresh.reset and w.resets_at is not None:
        return f"{w.name}: reset {human_duration(now - w.resets_at)} ago, no reading since"
    return f"{w.name}: stale, read {human_duration(fresh.age_s)} ago"


def for_account(window: str, level: str) -> str:
    """What a window's level says of its account: a model-scoped cap (``naming.window_scope``: ``7d_opus``) RED is
    only YELLOW for the account (that model is used up; the account's other models still answer)."""
    return "YELLOW" if level == "RED" and window_scope(window) is not None else level


def account_level(levels: Iterable[str], outcome: str | None = None) -> Level:
    """An account's health: RED after an INVALID, LIMITED or OVERAGE probe, else its worst known window's, and at
    least YELLOW after an ERROR, UNREACHABLE or OVERLOADED probe (a THROTTLED one leaves it to the windows: a
    request-scoped refusal says nothing of the account)."""
    if outcome in BAD_OUTCOMES:
        return "RED"
    worst: Level = "YELLOW" if outcome in FAULT_OUTCOMES else "UNKNOWN"
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
        return "RED", over_cap(w.name, ratio, cap)
    if ratio > policy.used_red:
        return "RED", f"{w.name} at {pct} (> {policy.used_red:.0%})"
    if ratio >= policy.used_yellow:
        return "YELLOW", f"{w.name} at {pct} (>= {policy.used_yellow:.0%})"
    return "GREEN", f"{w.name} at {pct}"


def over_cap(name: str, ratio: float, cap: float) -> str:
    """``5h at 85%, over its 80% cap``; ``5h at 100%: exhausted``."""
    if ratio >= 1.0:
        return f"{name} at {ratio:.0%}: exhausted"
    return f"{name} at {ratio:.0%}, {'over' if ratio > cap else 'at'} its {cap:.0%} cap"


def exhaustion(w: Window, proj: Projection | None, policy: Policy, now: datetime) -> Judgement | None:
    """Reaching the hard cap before the reset (the window's ``cap_reached_at``)."""
    if proj is None or proj.cap_reached_at is None:
        return None
    if not proj.cap_before_reset:
        return "GREEN", ""
    if proj.minutes_to_cap == 0 and w.ratio is not None and w.ratio >= proj.cap:
        tail = f"; exhausted in {human_duration(proj.exhausts_at - now)}" if (
            proj.exhausts_before_reset and proj.exhausts_at is not None and w.ratio < 1.0) else ""
        return "RED", over_cap(w.name, w.ratio, proj.cap) + tail
    days = max(0.0, (proj.cap_reached_at - now).total_seconds() / 86400)
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


__all__ = ["BAD_OUTCOMES", "DEFAULT_HARD_CAPS", "FAULT_OUTCOMES", "Freshness", "Level", "Policy", "Verdict",
           "Window", "account_level", "decide", "effective_cap", "freshness"]
