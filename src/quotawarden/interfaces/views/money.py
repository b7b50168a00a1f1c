"""Costs (by period, provider, model, project, consumer), budgets, the month-end forecast, and fairness.

The forecast, budgets and fairness index come from the analysis stage (``Service.forecast``, ``Service.fairness``);
the breakdowns are sums of the stored usage events (exact ``Decimal`` money) per period and
group, which is all a table or a bar chart needs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from quotawarden.interfaces.views._common import money

if TYPE_CHECKING:
    from quotawarden.app.service import Service
    from quotawarden.domain import UsageEvent

DIMENSIONS = ("provider", "model", "project", "consumer", "account_id")
PERIODS = ("day", "week", "month")


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _events(svc: Service, since: datetime, until: datetime | None = None) -> list[UsageEvent]:
    return svc.usage_events(since, until)


def _bucket(ts: datetime, period: str) -> str:
    d = ts.astimezone(UTC).date()
    if period == "week":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if period == "month":
        return f"{d.year}-{d.month:02d}"
    return d.isoformat()


def _cost(e: UsageEvent) -> Decimal:
    return e.cost if e.cost is not None else (e.cost_recorded or Decimal(0))


def breakdown(svc: Service, days: int = 30, period: str = "day") -> dict[str, Any]:
    """Cost and tokens over the last ``days``, per period and per dimension."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    now = svc.now()
    since = now - timedelta(days=days)
    series: dict[str, Decimal] = defaultdict(Decimal)
    dims: dict[str, dict[str, dict[str, Any]]] = {d: {} for d in DIMENSIONS}
    unpriced = 0
    for e in _events(svc, since, now):
        c = _cost(e)
        unpriced += e.cost is None and e.cost_recorded is None
        series[_bucket(e.ts, period)] += c
        for d in DIMENSIONS:
            key = getattr(e, d) or "(none)"
            row = dims[d].setdefault(key, {"key": key, "cost": Decimal(0), "tokens": 0, "requests": 0})
            row["cost"] += c
            row["tokens"] += e.total_tokens
            row["requests"] += 1
    return {
        "since": since.isoformat(), "until": now.isoformat(), "period": period, "unpriced_events": unpriced,
        "series": [{"bucket": k, "cost": money(v)} for k, v in sorted(series.items())],
        "total": money(sum(series.values(), Decimal(0))),
        **{f"by_{d}": sorted(({**r, "cost": money(r["cost"])} for r in rows.values()),
                             key=lambda r: -(r["cost"] or 0)) for d, rows in dims.items()},
    }


def forecast(svc: Service) -> dict[str, Any]:
    """Spend this month so far and the month-end estimate (with a 90% interval from the analysis stage)."""
    fc, _ = svc.forecast()
    return {"month": fc.month, "spent": money(fc.to_date), "expected": money(fc.expected),
            "low": money(fc.low), "high": money(fc.high), "daily_mean": money(fc.daily_mean),
            "method": f"bootstrap over {fc.basis_days} days, 90% interval"}


def budgets(svc: Service) -> list[dict[str, Any]]:
    _, statuses = svc.forecast()
    return [{"name": b.budget.name, "scope": b.budget.scope, "match": b.budget.match,
             "monthly_usd": b.budget.monthly_usd, "spent": money(b.forecast.to_date),
             "forecast": money(b.forecast.expected), "hard": b.budget.hard, "state": b.state,
             "message": b.message} for b in statuses]


def fairness(svc: Service, days: int = 7) -> dict[str, Any]:
    """Each consumer's share of cost per day, and the analysis stage's fairness over the period (Jain's index,
    Gini, advice per consumer)."""
    now = svc.now()
    per_day: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for e in _events(svc, now - timedelta(days=days), now):
        if not e.consumer:
            continue
        per_day[_bucket(e.ts, "day")][e.consumer] += float(_cost(e)) or e.total_tokens / 1e6
    series = [{"day": d, "shares": {c: v / (sum(row.values()) or 1.0) for c, v in row.items()}}
              for d, row in sorted(per_day.items())]
    f = svc.fairness(hours=days * 24)
    return {"days": days, "index": f.jain, "gini": f.gini, "series": series,
            "method": f"Jain's index over {f.weight}-weighted shares",
            "consumers": [{"consumer": c.consumer, "share": c.share, "calls": c.calls,
                           "calls_per_hour": c.calls_per_active_hour, "advice": c.advice,
                           "reason": c.reason} for c in f.consumers]}
