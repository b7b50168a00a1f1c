"""Time-shaped views of the windows: resets coming up, capacity about to be lost, and week-by-week history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from quotawarden.analysis.burn import Point, same_reset
from quotawarden.analysis.durations import human_duration
from quotawarden.analysis.status import AccountStatus


@dataclass(frozen=True, slots=True)
class Reset:
    account_id: str
    window: str
    resets_at: datetime
    in_minutes: float
    used_ratio: float | None
    status: str


def schedule(statuses: Sequence[AccountStatus], now: datetime, hours: float = 48) -> list[Reset]:
    """Windows that reset within ``hours``, soonest first."""
    horizon = now + timedelta(hours=hours)
    out = [Reset(st.account.id, w.name, w.sample.resets_at, (w.sample.resets_at - now).total_seconds() / 60,
                 w.sample.effective_ratio, w.status.value)
           for st in statuses for w in st.windows
           if w.sample.resets_at is not None and now <= w.sample.resets_at <= horizon]
    return sorted(out, key=lambda r: (r.resets_at, r.account_id, r.window))


@dataclass(frozen=True, slots=True)
class Underspend:
    account_id: str
    window: str
    unused_ratio: float
    resets_at: datetime
    message: str


def underspend(statuses: Sequence[AccountStatus], now: datetime, min_unused: float = 0.4,
               within: timedelta = timedelta(hours=2)) -> list[Underspend]:
    """"Use it or lose it": windows with at least ``min_unused`` left and less than ``within`` to their reset."""
    out = []
    for st in statuses:
        for w in st.windows:
            ratio, reset = w.sample.effective_ratio, w.sample.resets_at
            if ratio is None or reset is None or not now <= reset <= now + within:
                continue
            unused = 1.0 - ratio
            if unused >= min_unused:
                out.append(Underspend(st.account.id, w.name, unused, reset,
                                      f"{unused:.0%} of {w.name} unused, resets in {human_duration(reset - now)}"))
    return sorted(out, key=lambda u: (u.resets_at, -u.unused_ratio))


@dataclass(frozen=True, slots=True)
class WeekStat:
    account_id: str
    window: str
    week: str
    """ISO week, ``2026-W34``."""
    peak_ratio: float
    mean_ratio: float
    samples: int
    exhaustion_events: int
    """Reset periods in which the window reached its cap (within one point; 100 % by default)."""


def weekly(series: Mapping[tuple[str, str], Sequence[Point]], caps: Mapping[tuple[str, str], float] | None = None
           ) -> list[WeekStat]:
    """Peak and sample-weighted mean utilisation per account, window and ISO week, with exhaustion events."""
    out = []
    for (account, window), points in sorted(series.items()):
        cap = (caps or {}).get((account, window), 1.0)
        weeks: dict[str, list[Point]] = defaultdict(list)
        for p in points:
            if p.ratio is not None:
                iso = datetime.fromtimestamp(p.t, UTC).isocalendar()
                weeks[f"{iso.year}-W{iso.week:02d}"].append(p)
        for week, pts in sorted(weeks.items()):
            n = sum(p.weight for p in pts)
            exhausted: list[float | None] = []  # one per reset period; reset times within the jitter are one
            for p in pts:
                if (p.ratio or 0) >= cap - 0.01 and not any(same_reset(p.resets_t, r) for r in exhausted):
                    exhausted.append(p.resets_t)
            out.append(WeekStat(account, window, week, max(p.ratio or 0.0 for p in pts),
                                sum((p.ratio or 0.0) * p.weight for p in pts) / n, n, len(exhausted)))
    return out
