"""Where the money goes: cost per day/week/month by any dimension, a month-end forecast with an interval, budgets.

Costs are the ``usage_events.cost`` the log and proxy sources priced; an event without a price counts as unpriced
(reported, never treated as zero). The forecast is month-to-date plus the remaining days drawn, by bootstrap, from
the last 28 days; the interval is the 5th-95th percentile of 2,000 such draws (seeded, so reproducible).
A few days say little about the spread of spend, so with fewer than :data:`FULL_BASIS_DAYS` days of history each
draw's remaining spend is also scaled by a mean-one log-normal factor whose spread shrinks as days accumulate
(:func:`mean_spread`): one day of data gives a wide interval, never a zero-width one.
"""

from __future__ import annotations

import calendar
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import NamedTuple

GROUPS = ("provider", "account_id", "model", "project", "consumer")


class Usage(NamedTuple):
    """One usage event, as ``store.analysis_queries.usage_rows`` returns it."""

    ts: float
    provider: str
    model: str
    account_id: str | None
    consumer: str | None
    project: str | None
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost: Decimal | None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


def period_key(t: float, period: str) -> str:
    d = datetime.fromtimestamp(t, UTC)
    if period == "day":
        return d.strftime("%Y-%m-%d")
    if period == "week":
        iso = d.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if period == "month":
        return d.strftime("%Y-%m")
    raise ValueError(f"unknown period {period!r} (day, week, month)")


@dataclass(frozen=True, slots=True)
class CostLine:
    period: str
    group: str
    cost: Decimal
    calls: int
    tokens: int
    unpriced: int


def breakdown(rows: Iterable[Usage], period: str = "day", by: str = "provider") -> list[CostLine]:
    if by not in GROUPS:
        raise ValueError(f"cannot group cost by {by!r} ({', '.join(GROUPS)})")
    costs: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    calls: dict[tuple[str, str], int] = defaultdict(int)
    tokens: dict[tuple[str, str], int] = defaultdict(int)
    unpriced: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        key = (period_key(r.ts, period), getattr(r, by) or "-")
        costs[key] += r.cost or Decimal(0)
        calls[key] += 1
        tokens[key] += r.tokens
        unpriced[key] += r.cost is None
    return [CostLine(p, g, costs[(p, g)], calls[(p, g)], tokens[(p, g)], unpriced[(p, g)])
            for p, g in sorted(calls)]


@dataclass(frozen=True, slots=True)
class Forecast:
    month: str
    to_date: Decimal
    expected: Decimal
    low: Decimal
    high: Decimal
    days_left: float
    daily_mean: Decimal
    basis_days: int


def _cents(x: float) -> Decimal:
    return Decimal(str(round(x, 2)))


def daily_totals(rows: Iterable[Usage], now: datetime, days: int = 28) -> list[float]:
    """Cost per whole UTC day for the ``days`` days before today (zero-filled)."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = (today - timedelta(days=days)).timestamp()
    totals = [0.0] * days
    for r in rows:
        if start <= r.ts < today.timestamp() and r.cost is not None:
            totals[int((r.ts - start) // 86400)] += float(r.cost)
    return totals


FULL_BASIS_DAYS = 14
"""From this many days of spend on, the bootstrap alone sets the interval."""
DAY_SPREAD = 1.0
"""The assumed day-to-day spread of spend (coefficient of variation) before there are days to measure it."""


def mean_spread(days: int) -> float:
    """The log-normal sigma of the uncertainty in the mean daily spend after ``days`` days of history: the prior
    spread :data:`DAY_SPREAD` over sqrt(days), weighted by how many of :data:`FULL_BASIS_DAYS` are missing
    (1 day: ~0.96; 7 days: ~0.27; 14 and more: 0)."""
    missing = max(0, FULL_BASIS_DAYS - days)
    return 0.0 if not missing or days <= 0 else DAY_SPREAD * math.sqrt(missing / FULL_BASIS_DAYS) / math.sqrt(days)


def forecast(rows: Sequence[Usage], now: datetime, *, basis_days: int = 28, draws: int = 2000,
             seed: int = 1) -> Forecast:
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days_in = calendar.monthrange(now.year, now.month)[1]
    month_end = month_start + timedelta(days=days_in)
    to_date = sum((float(r.cost) for r in rows if r.cost is not None and month_start.timestamp() <= r.ts
                   < now.timestamp()), 0.0)
    daily = daily_totals(rows, now, basis_days)
    active = daily[next((i for i, v in enumerate(daily) if v > 0), len(daily)):] or [0.0]
    if not any(active):  # no whole day yet: today's spend so far, at its pace, is the one day there is
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        today = sum(float(r.cost) for r in rows if r.cost is not None and day_start.timestamp() <= r.ts
                    < now.timestamp())
        active = [today / max((now - day_start).total_seconds() / 86400, 1 / 24)]
    left = (month_end - now).total_seconds() / 86400
    whole, frac = int(left), left - int(left)
    mean = sum(active) / len(active)
    rng = random.Random(seed)
    sigma = mean_spread(len(active))

    def factor() -> float:
        return rng.lognormvariate(-sigma * sigma / 2, sigma) if sigma else 1.0

    sims = sorted((sum(rng.choice(active) for _ in range(whole)) + frac * rng.choice(active)) * factor()
                  for _ in range(draws))
    return Forecast(month_start.strftime("%Y-%m"), _cents(to_date), _cents(to_date + mean * left),
                    _cents(to_date + sims[int(0.05 * draws)]), _cents(to_date + sims[int(0.95 * draws) - 1]),
                    round(left, 2), _cents(mean), len(active))


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    name: str
    scope: str = "project"
    match: str = "*"
    monthly_usd: float | None = None
    daily_usd: float | None = None
    hard: bool = False


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    budget: BudgetSpec
    forecast: Forecast
    today: Decimal
    state: str
    """``ok``, ``at_risk`` (the interval's top crosses the budget), ``breach`` (the expected value does),
    ``over`` (already spent) or ``over_daily``."""
    message: str


def _matches(r: Usage, b: BudgetSpec, pools: Mapping[str, str]) -> bool:
    if b.scope == "total":
        return True
    field = {"project": r.project, "team": r.project, "consumer": r.consumer, "provider": r.provider,
             "pool": pools.get(r.account_id or "")}[b.scope]
    return field is not None and fnmatchcase(field, b.match)


def budgets(rows: Sequence[Usage], specs: Sequence[BudgetSpec], now: datetime,
            pools: Mapping[str, str] | None = None) -> list[BudgetStatus]:
    """Each budget's month-to-date, forecast and state. ``pools`` maps account id -> pool for pool budgets."""
    out = []
    today_start = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    for b in specs:
        mine = [r for r in rows if _matches(r, b, pools or {})]
        fc = forecast(mine, now)
        today = _cents(sum(float(r.cost) for r in mine if r.cost is not None and r.ts >= today_start))
        state, msg = "ok", f"{b.name}: ${fc.to_date} so far, ${fc.expected} expected"
        if b.monthly_usd is not None:
            cap = Decimal(str(b.monthly_usd))
            msg += f" of ${cap:.2f}"
            if fc.to_date > cap:
                state = "over"
            elif fc.expected > cap:
                state = "breach"
            elif fc.high > cap:
                state = "at_risk"
        if state == "ok" and b.daily_usd is not None and today > Decimal(str(b.daily_usd)):
            state, msg = "over_daily", f"{b.name}: ${today} today of ${b.daily_usd:.2f}"
        out.append(BudgetStatus(b, fc, today, state, msg))
    return out
