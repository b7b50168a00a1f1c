"""Emulated accounts with known usage processes, for backtests, benchmarks, tests and examples.

A process gives the demand in *share of the window's limit per hour* at time ``t``; a window accumulates demand
from its last reset, stops at 100 % (the provider rejects further calls) and resets every ``length_s`` seconds.
Everything is seeded: the same arguments give the same series.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from quotawarden.domain import QuotaSample, Source, Unit

Process = Callable[[float], float]


def steady(rate: float) -> Process:
    return lambda t: rate


def weekly_rhythm(weekday_rate: float, night_share: float = 0.1, weekend_share: float = 0.2) -> Process:
    """Busy 09:00-18:00 UTC on weekdays, ``night_share`` of that at night and ``weekend_share`` at weekends."""
    def rate(t: float) -> float:
        d = datetime.fromtimestamp(t, UTC)
        if d.weekday() >= 5:
            return weekday_rate * weekend_share
        return weekday_rate if 9 <= d.hour < 18 else weekday_rate * night_share
    return rate


def bursty(base: float, burst: float, seed: int, mean_gap_h: float = 6, mean_len_h: float = 1.0) -> Process:
    """``base`` with bursts of ``burst`` (exponential gaps and lengths), precomputed for 120 days."""
    rng = random.Random(seed)
    spans: list[tuple[float, float]] = []
    t = 0.0
    while t < 120 * 24:
        t += rng.expovariate(1 / mean_gap_h)
        length = rng.expovariate(1 / mean_len_h)
        spans.append((t, t + length))
        t += length

    def rate(at: float) -> float:
        h = (at % (120 * 86400)) / 3600
        return base + (burst if any(a <= h < b for a, b in spans) else 0.0)
    return rate


@dataclass(frozen=True, slots=True)
class Truth:
    """What really happened in one reset period."""

    start: datetime
    resets_at: datetime
    exhausted_at: datetime | None


def simulate(account_id: str, window: str, length_s: int, process: Process, start: datetime, end: datetime,
             *, step_s: int = 300, noise: float = 0.0, seed: int = 0, limit: float | None = None,
             ) -> tuple[list[QuotaSample], list[Truth]]:
    """Samples every ``step_s`` (with ``noise`` added to the reported ratio) and the true exhaustion times."""
    rng = random.Random(seed)
    samples: list[QuotaSample] = []
    truths: list[Truth] = []
    t = start.timestamp()
    period_start = t
    used = 0.0
    exhausted: float | None = None
    dt = step_s / 3600
    while t < end.timestamp():
        if t >= period_start + length_s:
            truths.append(_truth(period_start, length_s, exhausted))
            period_start += length_s * math.floor((t - period_start) / length_s)
            used, exhausted = 0.0, None
        reported = min(1.0, max(0.0, used + (rng.gauss(0, noise) if noise else 0.0)))
        resets = datetime.fromtimestamp(period_start + length_s, UTC)
        samples.append(QuotaSample(
            datetime.fromtimestamp(t, UTC), account_id, window, Unit.PERCENT if limit is None else Unit.REQUESTS,
            Source.PROBE, used_ratio=round(reported, 6) if limit is None else None,
            used=round(reported * limit, 3) if limit is not None else None, limit=limit, resets_at=resets,
            status="rejected" if used >= 1.0 else "allowed", window_length_s=length_s))
        step = process(t) * dt
        if used < 1.0 and used + step >= 1.0:
            exhausted = t + (1.0 - used) / max(process(t), 1e-12) * 3600
        used = min(1.0, used + step)
        t += step_s
    truths.append(_truth(period_start, length_s, exhausted))
    return samples, truths


def _truth(start: float, length_s: int, exhausted: float | None) -> Truth:
    return Truth(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(start + length_s, UTC),
                 datetime.fromtimestamp(exhausted, UTC) if exhausted is not None else None)


def true_exhaustion(process: Process, start: datetime, used: float, resets_at: datetime, cap: float = 1.0,
                    step_s: int = 60) -> datetime | None:
    """When demand from ``start`` (at ``used``) reaches ``cap``, by fine integration; None if it resets first."""
    t = start.timestamp()
    while t < resets_at.timestamp():
        used += process(t) * step_s / 3600
        if used >= cap:
            return datetime.fromtimestamp(t + step_s, UTC)
        t += step_s
    return None


def at(day: int, hour: float = 0) -> datetime:
    """A fixed Monday 00:00 UTC epoch for scenarios (2026-06-01) plus days and hours."""
    return datetime(2026, 6, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)
