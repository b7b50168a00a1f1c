"""Burn rate of one quota window: a robust slope over the current segment, and when the window runs out.

A *segment* is the stretch of samples since the window last reset: a new one starts when usage drops (by more than
``drop_tolerance``), when the stated reset time changes, or when a sample is observed after the previous sample's
reset time. The slope is Theil-Sen (median of pairwise slopes), so a few wild samples do not move it; samples may
arrive in any order (two sources, clock skew) and are sorted first.

Cheap to import (plain named tuples, no ``statistics``, the domain types for annotations only): the wake-prompt
fast path imports it through :mod:`quotawarden.analysis.health`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from quotawarden.analysis.durations import human_duration

if TYPE_CHECKING:
    from quotawarden.domain import QuotaSample

MAX_POINTS = 40
"""Theil-Sen is O(n^2): longer segments are thinned evenly (keeping both ends) to this many points."""


class Point(NamedTuple):
    """One observation of a window (or the mean of several in a time bucket, ``weight`` samples)."""

    t: float
    """Epoch seconds."""
    ratio: float | None
    used: float | None = None
    remaining: float | None = None
    limit: float | None = None
    resets_t: float | None = None
    weight: int = 1


class BurnRate(NamedTuple):
    ratio_per_hour: float | None
    """Fraction of the limit per hour (0.1 = 10 %/h); None when the window reports no ratio."""
    units_per_hour: float | None
    """In the window's native unit (tokens, requests, USD...); positive means consumption."""
    samples: int
    """How many samples the rate rests on (the current segment)."""
    segment_start: datetime | None
    last_ratio: float | None
    last_at: datetime | None
    limit: float | None = None

    @property
    def percent_per_hour(self) -> float | None:
        return None if self.ratio_per_hour is None else self.ratio_per_hour * 100


class Projection(NamedTuple):
    exhausts_at: datetime | None
    resets_at: datetime | None
    cap: float
    minutes_to_exhaustion: float | None
    exhausts_before_reset: bool
    message: str


def from_samples(samples: Iterable[QuotaSample]) -> list[Point]:
    return [Point(s.observed_at.timestamp(), s.effective_ratio, s.used, s.remaining, s.limit,
                  s.resets_at.timestamp() if s.resets_at else None) for s in samples]


def current_segment(points: Sequence[Point], drop_tolerance: float = 0.02) -> list[Point]:
    """The points since the last reset, oldest first."""
    pts = sorted(points, key=lambda p: p.t)
    start = 0
    for i in range(1, len(pts)):
        prev, cur = pts[i - 1], pts[i]
        if _is_reset(prev, cur, drop_tolerance):
            start = i
    return pts[start:]


def _is_reset(prev: Point, cur: Point, tol: float) -> bool:
    if prev.resets_t is not None and cur.t >= prev.resets_t:
        return True
    if prev.resets_t is not None and cur.resets_t is not None and abs(cur.resets_t - prev.resets_t) > 60:
        return True
    if prev.ratio is not None and cur.ratio is not None:
        return cur.ratio < prev.ratio - tol
    if prev.used is not None and cur.used is not None:
        return cur.used < prev.used * (1 - tol)
    if prev.remaining is not None and cur.remaining is not None:
        return cur.remaining > prev.remaining * (1 + tol) + tol
    return False


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The median of the slopes between every pair of points with distinct x; None with fewer than two."""
    n = len(xs)
    if n > MAX_POINTS:
        idx = sorted({round(i * (n - 1) / (MAX_POINTS - 1)) for i in range(MAX_POINTS)})
        xs, ys = [xs[i] for i in idx], [ys[i] for i in idx]
        n = len(xs)
    slopes: list[float] = []
    for i in range(n - 1):
        xi, yi = xs[i], ys[i]
        slopes.extend([(yj - yi) / (xj - xi) for xj, yj in zip(xs[i + 1:], ys[i + 1:], strict=True) if xj != xi])
    return _median(slopes) if slopes else None


def _median(values: list[float]) -> float:
    values.sort()
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def burn_rate(points: Sequence[Point], drop_tolerance: float = 0.02) -> BurnRate:
    """Rate of the current segment in ratio/hour and native units/hour (None where it cannot be known)."""
    seg = current_segment(points, drop_tolerance)
    if not seg:
        return BurnRate(None, None, 0, None, None, None)
    last = seg[-1]
    samples = sum(p.weight for p in seg)
    limit = next((p.limit for p in reversed(seg) if p.limit), None)
    hours = [p.t / 3600 for p in seg]
    ratio_rate = _slope(hours, [p.ratio for p in seg])
    if ratio_rate is not None and limit:
        units_rate: float | None = ratio_rate * limit  # one regression serves both units
    else:
        units_rate = _slope(hours, [p.used for p in seg])
        if units_rate is None:
            remaining_rate = _slope(hours, [p.remaining for p in seg])
            units_rate = -remaining_rate if remaining_rate is not None else None
    if ratio_rate is None and units_rate is not None and limit:
        ratio_rate = units_rate / limit
    return BurnRate(ratio_rate, units_rate, samples, _dt(seg[0].t), last.ratio, _dt(last.t), limit)


def _slope(xs: Sequence[float], ys: Sequence[float | None]) -> float | None:
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if len(pairs) < 2:
        return None
    return theil_sen([p[0] for p in pairs], [p[1] for p in pairs])


def project(rate: BurnRate, resets_at: datetime | None, now: datetime, cap: float = 1.0) -> Projection:
    """When the window reaches ``cap`` at the current rate, against when it resets."""
    if rate.ratio_per_hour is None or rate.last_ratio is None or rate.last_at is None:
        return Projection(None, resets_at, cap, None, False, "unknown: not enough samples")
    if rate.last_ratio >= cap:
        msg = f"exhausted: at {rate.last_ratio:.0%} of its {cap:.0%} cap"
        return Projection(rate.last_at, resets_at, cap, 0.0, True, msg)
    if rate.ratio_per_hour <= 0:
        return Projection(None, resets_at, cap, None, False, "safe: not burning")
    hours = (cap - rate.last_ratio) / rate.ratio_per_hour
    exhausts = rate.last_at + timedelta(hours=hours)
    minutes = max(0.0, (exhausts - now).total_seconds() / 60)
    if resets_at is not None and resets_at <= exhausts:
        return Projection(exhausts, resets_at, cap, minutes, False, "safe: resets first")
    lead = f", {human_duration(resets_at - exhausts)} before reset" if resets_at is not None else ""
    return Projection(exhausts, resets_at, cap, minutes, True, f"exhausts in {human_duration(exhausts - now)}{lead}")


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
