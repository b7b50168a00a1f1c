"""Use it or lose it, measured: each included window's cycles, the share of each that went unused, and the money
paid for fall-backs while included capacity was left.

A *cycle* is one period of a window between two resets. Readings split into cycles by the one reset rule
(:func:`quotawarden.analysis.burn.is_reset`: a reading after the stated reset time, a stated reset that moved by
more than :data:`~quotawarden.analysis.windows.SAME_WINDOW_JITTER_S`, or usage that dropped by more than noise),
so the few seconds a provider's countdown jitters never start a new cycle. A cycle counts once it has reset (a
later cycle was read, or its stated reset time has passed): its ``peak_used_ratio`` is the highest reading in it
(usage only grows within a cycle, so this is the level at the reset, as far as the readings saw), and its
``wasted_ratio`` is ``1 - peak``. It started ``length`` before its reset when the window's length is known, else
at its first reading.

A window's wasted share is the mean over its cycles (every cycle of a window has the same capacity); an account's
is the mean over its windows, and the total the mean over every window. Weeks are ISO weeks of the resets.

*Avoidable overage* is money spent on paid fall-backs (usage of API-key and credit accounts, growth of a
subscription's extra-usage spend) at a moment when another *included* account - in the same pool when the payer
is in one that has included accounts, any otherwise - had headroom: every one of its unscoped windows read below
``1 - HEADROOM_MIN`` (or had reset since), from a reading at most :data:`STALE_S` old.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis.burn import Point, is_reset

HEADROOM_MIN = 0.05
"""An included window with less than this share left does not count as headroom."""
STALE_S = 6 * 3600.0
"""A reading older than this says nothing about a window's headroom (unless the window has reset since)."""
MIN_INCLUDED_LENGTH_S = 3600
"""Windows shorter than an hour are rate limits (they refill), not included capacity that expires."""
MONEY_UNITS = frozenset({"usd", "cny", "credits"})


def included_window(unit: str, length_s: int | None) -> bool:
    """Whether a window of a subscription account is included capacity that expires: not money or credits, and a
    known length of at least :data:`MIN_INCLUDED_LENGTH_S`."""
    return unit not in MONEY_UNITS and length_s is not None and length_s >= MIN_INCLUDED_LENGTH_S


@dataclass(frozen=True, slots=True)
class Cycle:
    started_at: datetime
    reset_at: datetime
    peak_used_ratio: float
    wasted_ratio: float


@dataclass(frozen=True, slots=True)
class WeekWaste:
    week: str
    """ISO week of the resets, ``2026-W34``."""
    cycles: int
    wasted_ratio: float


@dataclass(frozen=True, slots=True)
class WindowWaste:
    name: str
    cycles: list[Cycle]
    wasted_ratio: float | None
    """None while no cycle of the window has reset."""
    weeks: list[WeekWaste] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AccountWaste:
    id: str
    windows: list[WindowWaste]
    wasted_ratio: float | None
    paid_usd: float = 0.0
    """Paid fall-back spend of this account in the period (API usage, credits, extra usage)."""
    avoidable_overage_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Waste:
    accounts: list[AccountWaste]
    wasted_ratio: float | None
    avoidable_overage_usd: float
    paid_usd: float
    since: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class WindowSeries:
    """The readings of one included window, oldest first."""

    account_id: str
    window: str
    points: Sequence[Point]
    length_s: int | None = None


@dataclass(frozen=True, slots=True)
class Spend:
    """Money paid for a fall-back: a priced call on a paid account, or extra usage of a subscription."""

    t: float
    account_id: str
    usd: float


def _iso(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def cycles(points: Sequence[Point], now: datetime, length_s: int | None = None) -> list[Cycle]:
    """The cycles of one window that have reset by ``now``, oldest first."""
    pts = sorted((p for p in points if p.ratio is not None), key=lambda p: p.t)
    segments: list[list[Point]] = []
    for p in pts:
        if segments and not is_reset(segments[-1][-1], p):
            segments[-1].append(p)
        else:
            segments.append([p])
    out: list[Cycle] = []
    for i, seg in enumerate(segments):
        stated = seg[-1].resets_t
        nxt = segments[i + 1][0].t if i + 1 < len(segments) else None
        if stated is not None and (stated <= now.timestamp() or nxt is not None):
            reset = stated if nxt is None else min(stated, nxt)
        elif nxt is not None:
            reset = nxt
        else:
            continue  # still running
        start = reset - length_s if length_s else seg[0].t
        peak = min(1.0, max(0.0, max(p.ratio or 0.0 for p in seg)))
        out.append(Cycle(_iso(min(start, seg[0].t)), _iso(reset), round(peak, 6), round(1.0 - peak, 6)))
    return out


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def _weeks(cs: Sequence[Cycle]) -> list[WeekWaste]:
    by: dict[str, list[float]] = {}
    for c in cs:
        iso = c.reset_at.isocalendar()
        by.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(c.wasted_ratio)
    return [WeekWaste(w, len(v), _mean(v) or 0.0) for w, v in sorted(by.items())]


def extra_usage_spends(account_id: str, points: Sequence[Point], reset_drop: float = 0.01) -> list[Spend]:
    """Extra-usage dollars from a money window's readings (``used`` in USD): every rise between two readings is
    spend at the later one; after a drop (the monthly reset) the new level is fresh spend."""
    out: list[Spend] = []
    prev: float | None = None
    for p in sorted(points, key=lambda p: p.t):
        if p.used is None:
            continue
        if prev is not None:
            inc = p.used if p.used < prev - reset_drop else p.used - prev
            if inc > 0:
                out.append(Spend(p.t, account_id, inc))
        prev = p.used
    return out


class _Headroom:
    """Which included accounts had headroom at a time, from their windows' readings."""

    def __init__(self, series: Sequence[WindowSeries]) -> None:
        self.windows: dict[str, list[tuple[list[float], list[Point]]]] = {}
        for s in series:
            if "_" in s.window:  # model-scoped caps (7d_opus) do not stop other models
                continue
            pts = sorted((p for p in s.points if p.ratio is not None), key=lambda p: p.t)
            self.windows.setdefault(s.account_id, []).append(([p.t for p in pts], pts))

    @staticmethod
    def _ratio(times: list[float], pts: list[Point], t: float) -> float | None:
        i = bisect.bisect_right(times, t) - 1
        if i < 0:
            return None
        p = pts[i]
        if p.resets_t is not None and t >= p.resets_t:
            return 0.0 if t - p.resets_t <= STALE_S else None
        return p.ratio if t - p.t <= STALE_S else None

    def has(self, account_id: str, t: float) -> bool:
        wins = self.windows.get(account_id)
        if not wins:
            return False
        for times, pts in wins:
            r = self._ratio(times, pts, t)
            if r is None or r >= 1.0 - HEADROOM_MIN:
                return False
        return True


def waste(series: Sequence[WindowSeries], spends: Sequence[Spend], now: datetime, since: datetime, *,
          pools: Mapping[str, str | None] | None = None, accounts: Sequence[str] = ()) -> Waste:
    """Cycles and wasted shares of every included window, and the paid fall-back spend that was avoidable.

    ``series``: the included windows' readings; ``spends``: paid fall-back spend; ``pools``: account -> pool;
    ``accounts``: account ids to list even without an included window (payers)."""
    pools = pools or {}
    by_acc: dict[str, list[WindowWaste]] = {}
    for s in sorted(series, key=lambda s: (s.account_id, s.window)):
        cs = [c for c in cycles(s.points, now, s.length_s) if c.reset_at >= since]
        by_acc.setdefault(s.account_id, []).append(
            WindowWaste(s.window, cs, _mean([c.wasted_ratio for c in cs]), _weeks(cs)))
    head = _Headroom(series)
    included = sorted(head.windows)
    paid: dict[str, float] = {}
    avoidable: dict[str, float] = {}
    for sp in spends:
        if sp.t < since.timestamp() or sp.t > now.timestamp() or sp.usd <= 0:
            continue
        paid[sp.account_id] = paid.get(sp.account_id, 0.0) + sp.usd
        pool = pools.get(sp.account_id)
        mates = [a for a in included if a != sp.account_id and pool is not None and pools.get(a) == pool]
        others = mates or [a for a in included if a != sp.account_id]
        if any(head.has(a, sp.t) for a in others):
            avoidable[sp.account_id] = avoidable.get(sp.account_id, 0.0) + sp.usd
    ids = sorted(set(by_acc) | set(paid) | set(accounts))
    out = []
    for a in ids:
        wins = by_acc.get(a, [])
        ratios = [w.wasted_ratio for w in wins if w.wasted_ratio is not None]
        out.append(AccountWaste(a, wins, _mean(ratios), round(float(paid.get(a, 0.0)), 6),
                                round(float(avoidable.get(a, 0.0)), 6)))
    every = [w.wasted_ratio for ws in by_acc.values() for w in ws if w.wasted_ratio is not None]
    return Waste(out, _mean(every), round(float(sum(avoidable.values())), 6), round(float(sum(paid.values())), 6),
                 since, now)


def waste_json(w: Waste) -> dict[str, Any]:
    """The ``analyze waste --json`` shape."""
    def iso(d: datetime) -> str:
        return d.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    return {
        "since": iso(w.since), "until": iso(w.until), "wasted_ratio": w.wasted_ratio,
        "accounts": [{
            "id": a.id, "wasted_ratio": a.wasted_ratio, "paid_usd": round(a.paid_usd, 2),
            "avoidable_overage_usd": round(a.avoidable_overage_usd, 2),
            "windows": [{
                "name": x.name, "wasted_ratio": x.wasted_ratio,
                "cycles": [{"started_at": iso(c.started_at), "reset_at": iso(c.reset_at),
                            "peak_used_ratio": c.peak_used_ratio, "wasted_ratio": c.wasted_ratio}
                           for c in x.cycles],
                "weeks": [{"week": k.week, "cycles": k.cycles, "wasted_ratio": k.wasted_ratio} for k in x.weeks],
            } for x in a.windows],
        } for a in w.accounts],
        "paid_usd": round(w.paid_usd, 2),
        "avoidable_overage_usd": round(w.avoidable_overage_usd, 2),
    }
