"""How a pool picks the account for each request: the planner's ranking (:func:`quotawarden.analysis.planner.plan`,
strategy ``drain_soonest`` or ``headroom``), then pacing and hysteresis on top.

Pure and cheap (no I/O, no clock): the proxy calls :func:`order` on every routing decision of a pool with the
readings of its own traffic (a few tens of microseconds for 20 accounts, ``bench/proxy.py``), and
``bench/planner.py`` replays weeks of simulated traffic through the same functions.

**Pacing** (``[[pools]] pacing = true``): an account whose utilisation of a window is ahead of the straight line
from that window's start to its reset (:func:`ahead_of_pace`, with :data:`PACE_SLACK` of slack) is held back: it
goes after the accounts of its fallback link and capacity tier that are on pace, never after a paid tier. When
every account of a tier is ahead, their order stands.

**Hysteresis** (the rule): the account the pool chose last (``current``) stays first while

1. it is still ranked (not limited, paused, refused or at a hard cap);
2. it has the same fallback link, capacity tier and pace group as the planner's best (an account that would reach
   a cap before its reset, or whose usage became unknown, has left its group);
3. pacing does not hold it back (unless it holds back the best too); and
4. the best does not beat it by the pool's margin: under ``drain_soonest`` the best's allowance expires (its
   longest window with room resets, ``Choice.expires_t``) more than ``margin_s`` seconds (default 900) sooner, or
   expires within ``margin_s`` of it and its soonest window with room resets more than ``margin_s`` sooner;
   under ``headroom`` the best has more than ``margin`` (default 0.05, five points) more headroom.

Alternating near-equal readings therefore never move a pool back and forth; a real difference still does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from quotawarden.analysis.planner import STRATEGY_NAMES, Choice

MARGIN = 0.05
"""Headroom (fraction of the window) another account must have beyond the current one to take over (headroom)."""
MARGIN_S = 900.0
"""Seconds sooner another account's window must reset to take over (drain_soonest)."""
PACE_SLACK = 0.02
"""How far ahead of the straight line a window may be before pacing holds its account back."""


@dataclass(frozen=True, slots=True)
class Rules:
    """One pool's routing rules (``[[pools]] strategy``, ``switch_margin``, ``switch_margin_s``, ``pacing``)."""

    strategy: str = "drain_soonest"
    margin: float = MARGIN
    margin_s: float = MARGIN_S
    pacing: bool = False

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGY_NAMES:
            raise ValueError(f"unknown strategy {self.strategy!r} (known: {', '.join(STRATEGY_NAMES)})")


def ahead_of_pace(ratio: float | None, resets_t: float | None, length_s: float | None, now: float,
                  slack: float = PACE_SLACK) -> bool:
    """Whether a window's utilisation is ahead of the straight line from its start (reset - length) to its reset.
    Unknown ratio, reset or length: never ahead."""
    if ratio is None or resets_t is None or not length_s or length_s <= 0:
        return False
    elapsed = min(max(length_s - (resets_t - now), 0.0), length_s)
    return ratio > elapsed / length_s + slack


def _beats(best: Choice, cur: Choice, rules: Rules) -> bool:
    if rules.strategy == "headroom":
        if cur.headroom is None:
            return best.headroom is not None
        return best.headroom is not None and best.headroom > cur.headroom + rules.margin
    for b, c in ((_expiry(best), _expiry(cur)), (best.resets_t, cur.resets_t)):
        if c is None:
            return b is not None
        if b is None or b > c + rules.margin_s:
            return False
        if b < c - rules.margin_s:
            return True
    return False


def _expiry(c: Choice) -> float | None:
    return c.expires_t if c.expires_t is not None else c.resets_t


def _band(c: Choice) -> tuple[int, int]:
    return c.chain, c.tier


def order(ranked: Sequence[Choice], rules: Rules, current: str | None = None,
          held: Collection[str] = ()) -> list[Choice]:
    """The planner's ``ranked`` list (best first) with pacing (``held``: accounts ahead of pace; ignored unless
    ``rules.pacing``) and the hysteresis rule of this module applied for ``current``."""
    out = list(ranked)
    if rules.pacing and held:
        paced: list[Choice] = []
        i = 0
        while i < len(out):  # within each (fallback link, capacity tier): on-pace accounts first, order kept
            j = i
            while j < len(out) and _band(out[j]) == _band(out[i]):
                j += 1
            band = out[i:j]
            paced += [c for c in band if c.account_id not in held] + [c for c in band if c.account_id in held]
            i = j
        out = paced
    if current is None or len(out) < 2 or out[0].account_id == current:
        return out
    k = next((n for n, c in enumerate(out) if c.account_id == current), None)
    if k is None:
        return out
    best, cur = out[0], out[k]
    if _band(cur) != _band(best) or cur.group != best.group:
        return out
    if rules.pacing and cur.account_id in held and best.account_id not in held:
        return out
    if _beats(best, cur, rules):
        return out
    return [cur, *out[:k], *out[k + 1:]]
