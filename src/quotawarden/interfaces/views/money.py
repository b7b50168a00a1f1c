"""Costs (by period, provider, model, project, consumer), budgets, the month-end forecast, and fairness.

The forecast, budgets and fairness index come from the analysis stage (``Service.forecast``, ``Service.fairness``)
when it is installed; the breakdowns are sums of the stored usage events (exact ``Decimal`` money) per period and
group, which is all a table or a bar chart needs.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from quotawarden.interfaces.views._common import money, use_case

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
    now = svc.now()
    if fn := use_case(svc, "forecast"):
        fc, _ = fn()
        return {"month": fc.month, "spent": money(fc.to_date), "expected": money(fc.expected),
                "low": money(fc.low), "high": money(fc.high), "daily_mean": money(fc.daily_mean),
                "method": f"bootstrap over {fc.basis_days} days, 90% interval"}
    start = month_start(now)
    days_in_month = calendar.monthrange(start.year, start.month)[1]
    elapsed_days = max((now - start).total_seconds() / 86400, 1 / 24)
    spent = sum((_cost(e) for e in _events(svc, start, now)), Decimal(0))
    expected = float(spent) / elapsed_days * days_in_month
    return {"month": start.strftime("%Y-%m"), "spent": money(spent), "expected": round(expected, 2),
            "low": None, "high": None, "method": "month-to-date run rate"}


def budgets(svc: Service) -> list[dict[str, Any]]:
    if fn := use_case(svc, "forecast"):
        _, statuses = fn()
        return [{"name": b.budget.name, "scope": b.budget.scope, "match": b.budget.match,
                 "monthly_usd": b.budget.monthly_usd, "spent": money(b.forecast.to_date),
                 "forecast": money(b.forecast.expected), "hard": b.budget.hard, "state": b.state,
                 "message": b.message} for b in statuses]
    now = svc.now()
    events = _events(svc, month_start(now), now)
    fc = forecast(svc)
    ratio = (fc["expected"] / fc["spent"]) if fc.get("spent") else 1.0
    out = []
    for b in svc.config.settings.budgets:
        spent = sum((_cost(e) for e in events if _in_scope(e, b.scope, b.match)), Decimal(0))
        limit = b.monthly_usd
        projected = float(spent) * ratio
        over, breach = (float(spent) > limit, projected > limit) if limit else (False, False)
        state = "over" if over else "breach" if breach else "ok"
        out.append({"name": b.name, "scope": b.scope, "match": b.match, "monthly_usd": limit,
                    "spent": money(spent), "forecast": round(projected, 2), "hard": b.hard, "state": state})
    return out


def _in_scope(e: UsageEvent, scope: str, match: str) -> bool:
    import fnmatch

    if scope == "total":
        return True
    value = {"project": e.project, "consumer": e.consumer, "provider": e.provider, "pool": None,
             "team": e.project}.get(scope)
    return value is not None and fnmatch.fnmatch(value, match)


def fairness(svc: Service, days: int = 7) -> dict[str, Any]:
    """Each consumer's share of cost, per day, and Jain's index over the shares (1.0 = perfectly even)."""
    now = svc.now()
    per_day: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    totals: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for e in _events(svc, now - timedelta(days=days), now):
        if not e.consumer:
            continue
        w = float(_cost(e)) or e.total_tokens / 1e6
        per_day[_bucket(e.ts, "day")][e.consumer] += w
        totals[e.consumer] += w
        calls[e.consumer] += 1
    series = [{"day": d, "shares": {c: v / (sum(row.values()) or 1.0) for c, v in row.items()}}
              for d, row in sorted(per_day.items())]
    if fn := use_case(svc, "fairness"):
        f = fn(hours=days * 24)
        return {"days": days, "index": f.jain, "gini": f.gini, "series": series,
                "method": f"Jain's index over {f.weight}-weighted shares",
                "consumers": [{"consumer": c.consumer, "share": c.share, "calls": c.calls,
                               "calls_per_hour": c.calls_per_active_hour, "advice": c.advice,
                               "reason": c.reason} for c in f.consumers]}
    grand = sum(totals.values()) or 1.0
    consumers = sorted(totals, key=lambda c: -totals[c])
    return {
        "days": days, "index": jain(list(totals.values())), "gini": None, "method": "Jain's index over cost shares",
        "consumers": [{"consumer": c, "share": totals[c] / grand, "calls": calls[c],
                       "calls_per_hour": calls[c] / (days * 24), "advice": "", "reason": ""} for c in consumers],
        "series": series,
    }


def jain(values: list[float]) -> float | None:
    if not values:
        return None
    total, squares = sum(values), sum(v * v for v in values)
    return (total * total) / (len(values) * squares) if squares else None
