"""Burn rate of one quota window: a robust slope over the current segment, and when the window runs out.

A *segment* is the stretch of samples since the window last reset: a new one starts when usage drops (by more than
``drop_tolerance``), when the stated reset time moves by more than ``SAME_WINDOW_JITTER_S`` (60 s, the one
tolerance, in :mod:`quotawarden.analysis.windows`), or when a sample is observed after the previous sample's reset
time. Providers recompute the reset time on every answer (Anthropic's moves by a second or two from one answer to
the next): a smaller move is the same window.
The slope is Theil-Sen (median of pairwise slopes), so a few wild samples do not move it; samples may arrive
in any order (two sources, clock skew) and are sorted first.

Cheap to import (plain named tuples, no ``statistics``, the domain types for annotations only): the wake-prompt
fast path imports it through :mod:`quotawarden.analysis.health`.
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations written as strings cost a
# ``compile()`` each on import (~20 us a field), which the ``summary`` fast path pays on every call.
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from quotawarden.analysis.durations import human_duration
from quotawarden.analysis.windows import SAME_WINDOW_JITTER_S

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
    """Where the current rate leads: the hard cap first (``cap_reached_at``), then exhaustion, the provider's own
    100 % (``exhausts_at``), each against the window's reset."""

    exhausts_at: datetime | None
    """When the window reaches 100 % at this rate (the provider starts refusing); None when not burning."""
    resets_at: datetime | None
    cap: float
    minutes_to_exhaustion: float | None
    exhausts_before_reset: bool
    message: str
    cap_reached_at: datetime | None = None
    """When the window reaches ``cap`` at this rate (the last reading's time when it already has)."""
    cap_before_reset: bool = False
    minutes_to_cap: float | None = None


def from_samples(samples: Iterable["QuotaSample"]) -> list[Point]:
    return [Point(s.observed_at.timestamp(), s.effective_ratio, s.used, s.remaining, s.limit,
                  s.resets_at.timestamp() if s.resets_at else None) for s in samples]


def current_segment(points: Sequence[Point], drop_tolerance: float = 0.02) -> list[Point]:
    """The points since the last reset, oldest first."""
    pts = sorted(points, key=lambda p: p.t)
    start = 0
    for i in range(1, len(pts)):
        prev, cur = pts[i - 1], pts[i]
        if is_reset(prev, cur, drop_tolerance):
            start = i
    return pts[start:]


def same_reset(a: float | None, b: float | None) -> bool:
    """Two stated reset times (epoch seconds) name the same reset: both unknown, or within ``SAME_WINDOW_JITTER_S``."""
    if a is None or b is None:
        return a is b
    return abs(a - b) <= SAME_WINDOW_JITTER_S


def is_reset(prev: Point, cur: Point, tol: float = 0.02) -> bool:
    """Whether the window reset between two readings (in time order): ``cur`` was observed after ``prev``'s reset
    time, the stated reset time moved by more than ``SAME_WINDOW_JITTER_S``, or usage dropped by more than ``tol``."""
    if prev.resets_t is not None and cur.t >= prev.resets_t:
        return True
    if prev.resets_t is not None and cur.resets_t is not None and not same_reset(prev.resets_t, cur.resets_t):
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


NEVER_H = 24 * 365 * 100.0
"""A projection further out than this (a flat series whose slope is rounding noise) is never."""


def _after(at: datetime, hours: float) -> datetime | None:
    return at + timedelta(hours=hours) if hours < NEVER_H else None


def project(rate: BurnRate, resets_at: datetime | None, now: datetime, cap: float = 1.0) -> Projection:
    """When the window reaches ``cap`` and when it is exhausted (100 %) at the current rate, against its reset."""
    if rate.ratio_per_hour is None or rate.last_ratio is None or rate.last_at is None:
        return Projection(None, resets_at, cap, None, False, "unknown: not enough samples")
    last, at, per_hour = rate.last_ratio, rate.last_at, rate.ratio_per_hour
    if last >= 1.0:
        return Projection(at, resets_at, cap, 0.0, True, f"exhausted: at {last:.0%}", at, True, 0.0)
    exhausts = _after(at, (1.0 - last) / per_hour) if per_hour > 0 else None
    reaches = at if last >= cap else (_after(at, (cap - last) / per_hour) if per_hour > 0 else None)

    def before_reset(t: datetime | None) -> bool:
        return t is not None and (resets_at is None or t < resets_at)

    def minutes(t: datetime | None) -> float | None:
        return None if t is None else max(0.0, (t - now).total_seconds() / 60)

    exh_first, cap_first = before_reset(exhausts), before_reset(reaches)
    parts = _Parts(exhausts, reaches, resets_at, now)
    if last >= cap:
        msg = f"at {last:.0%}, {'over' if last > cap else 'at'} its {cap:.0%} cap" + parts.exhaustion(exh_first)
    elif reaches is None:
        msg = "safe: not burning"
    elif not cap_first:
        msg = "safe: resets first"
    elif cap >= 1.0:
        msg = f"exhausts in {human_duration(reaches - now)}{parts.lead(reaches)}"
    elif exh_first:
        msg = f"reaches its {cap:.0%} cap in {human_duration(reaches - now)}{parts.exhaustion(True)}"
    else:
        msg = f"reaches its {cap:.0%} cap in {human_duration(reaches - now)}{parts.lead(reaches)}"
    return Projection(exhausts, resets_at, cap, minutes(exhausts), exh_first, msg, reaches, cap_first,
                      minutes(reaches))


class _Parts(NamedTuple):
    exhausts: datetime | None
    reaches: datetime | None
    resets_at: datetime | None
    now: datetime

    def lead(self, t: datetime) -> str:
        return f", {human_duration(self.resets_at - t)} before reset" if self.resets_at is not None else ""

    def exhaustion(self, first: bool) -> str:
        return f"; exhausted in {human_duration(self.exhausts - self.now)}" if first and self.exhausts else ""


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
