"""Analysis use cases: read what each needs from the store (``store.analysis_queries``), run the pure functions of
``quotawarden.analysis``, return plain data. ``Service`` exposes each as a one-line method."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from quotawarden.analysis import anomaly, audit, cost, fairness, rotation, schedule, tiers
from quotawarden.analysis.burn import BurnRate, Point, burn_rate
from quotawarden.analysis.health import Policy
from quotawarden.analysis.status import AccountStatus, HealthThresholds, evaluate
from quotawarden.config import Settings
from quotawarden.domain import Account, AccountState, Alert, Health, QuotaSample
from quotawarden.store import Store
from quotawarden.store import analysis_queries as aq
from quotawarden.store import outcomes as outcomes_q
from quotawarden.store import provider_status as status_q
from quotawarden.store.health_inputs import PAGE_FRESH_INTERVALS

DAY = 86400.0


def policy(settings: Settings) -> Policy:
    return Policy.from_mapping(settings.thresholds.model_dump())  # as the fast paths read the raw file


def status_pages(store: Store, settings: Settings, now: datetime) -> dict[str, dict[str, Any]]:
    """provider -> its status page's recent reading (``state``, ``description``, ``observed_at``)."""
    since = now.timestamp() - PAGE_FRESH_INTERVALS * float(settings.schedule.status_interval)
    return {p: {"state": state, "description": desc, "observed_at": datetime.fromtimestamp(ts, UTC).isoformat()}
            for p, (state, desc, ts) in sorted(status_q.read_since(store, since).items())}


def rates(store: Store, account_ids: Sequence[str] | None = None) -> dict[tuple[str, str], BurnRate]:
    return {k: burn_rate([Point(*r) for r in rows]) for k, rows in aq.recent_buckets(store, account_ids).items()}


def statuses(store: Store, accounts: Sequence[Account], latest: Sequence[QuotaSample],
             states: Mapping[str, AccountState], settings: Settings, now: datetime,
             account_ids: Sequence[str] | None = None) -> list[AccountStatus]:
    t = settings.thresholds
    th = HealthThresholds(t.used_yellow, t.used_red, t.exhaust_days_yellow, t.exhaust_days_red)
    errors = outcomes_q.error_rates(store, now.timestamp() - DAY, account_ids=account_ids)
    services = {p: v["state"] for p, v in status_pages(store, settings, now).items()
                if v["state"] not in status_q.QUIET}
    return evaluate(accounts, latest, states, th, now, policy=policy(settings), rates=rates(store, account_ids),
                    errors=errors, services=services)


def pool_specs(settings: Settings) -> list[rotation.PoolSpec]:
    return [rotation.PoolSpec(p.name, tuple(p.accounts), tuple(p.fallback)) for p in settings.pools]


def rotations(sts: Sequence[AccountStatus], settings: Settings, pool: str | None = None) -> list[rotation.Rotation]:
    specs = pool_specs(settings)
    names = [pool] if pool else ([p.name for p in specs] or sorted({s.account.pool for s in sts if s.account.pool}))
    cands = rotation.candidates(sts, policy(settings))
    return [rotation.rank(cands, specs, name) for name in names]


def weekly(store: Store, now: datetime, weeks: int = 8) -> list[schedule.WeekStat]:
    rows = aq.series(store, now.timestamp() - weeks * 7 * DAY, now.timestamp(), bucket_s=3600)
    return schedule.weekly({k: [Point(*r) for r in v] for k, v in rows.items()})


def usage(store: Store, now: datetime, days: float) -> list[cost.Usage]:
    rows = aq.usage_rows(store, now.timestamp() - days * DAY, now.timestamp())
    return [cost.Usage._make((*r[:-1], _decimal(r[-1]))) for r in rows]


def _decimal(v: Any) -> Decimal | None:
    """SQLite hands NUMERIC back as float through a raw query; money is Decimal here."""
    if v is None or isinstance(v, Decimal):
        return v
    return Decimal(str(v))


def budget_specs(settings: Settings) -> list[cost.BudgetSpec]:
    return [cost.BudgetSpec(b.name, b.scope, b.match, b.monthly_usd, b.daily_usd, b.hard) for b in settings.budgets]


def forecast(store: Store, settings: Settings, accounts: Sequence[Account], now: datetime
             ) -> tuple[cost.Forecast, list[cost.BudgetStatus]]:
    rows = usage(store, now, 62)
    pools = {a.id: a.pool for a in accounts if a.pool}
    return cost.forecast(rows, now), cost.budgets(rows, budget_specs(settings), now, pools)


def anomalies(store: Store, now: datetime, weeks: int = 6) -> list[anomaly.Anomaly]:
    since = now - timedelta(days=1)
    found: list[anomaly.Anomaly] = []
    for by in ("provider", "consumer"):
        hourly = aq.usage_hourly(store, now.timestamp() - weeks * 7 * DAY, now.timestamp(), by=by)
        found += anomaly.spikes(((f"{by} {g or '-'}", t, float(n)) for g, t, n, _, _ in hourly), since, "calls",
                                floor=10)
        found += anomaly.spikes(((f"{by} {g or '-'}", t, c) for g, t, _, c, _ in hourly), since, "cost",
                                floor=1.0)
    found += anomaly.new_models(((r.ts, r.provider, r.model) for r in usage(store, now, 30)), now)
    found += anomaly.error_bursts(aq.rejected_counts(store, now.timestamp() - DAY), now)
    return found


def tier_advice(store: Store, accounts: Sequence[Account], now: datetime, catalog: Sequence[tiers.Plan] | None = None,
                days: int = 30) -> list[tiers.Advice]:
    catalog = catalog or tiers.load_catalog()
    start = (now - timedelta(days=days)).timestamp()
    ser = aq.series(store, start, now.timestamp(), [a.id for a in accounts], bucket_s=3600)
    lengths = aq.window_lengths(store)
    api: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for r in usage(store, now, days):
        if r.account_id and r.cost is not None:
            api[r.account_id][int((r.ts - start) // DAY)] += float(r.cost)
    out = []
    for a in accounts:
        per_window = {w: [(p[0], p[1]) for p in rows] for (acc, w), rows in ser.items() if acc == a.id}
        long = {w: max(1, round((lengths.get((a.id, w)) or 0) / DAY)) for w in per_window
                if (lengths.get((a.id, w)) or 0) > DAY}
        day_list = tiers.days_from_series(per_window, long, api.get(a.id, {}), start, days) if per_window else []
        current = tiers.find_plan(catalog, a.plan)
        out.append(tiers.advise(a.id, current, day_list, catalog))
    return out


def fairness_report(store: Store, now: datetime, hours: float, sts: Sequence[AccountStatus],
                    anonymize_as: str | None = None, anonymize: bool = False) -> fairness.Fairness:
    rows = usage(store, now, hours / 24)
    pressure = any(s.status in (Health.RED, Health.YELLOW) for s in sts if s.account.pool)
    f = fairness.fairness(rows, pressure=pressure)
    return fairness.anonymize(f, anonymize_as) if anonymize else f


def audit_report(store: Store, settings: Settings, accounts: Sequence[Account], sts: Sequence[AccountStatus],
                 now: datetime) -> dict[str, Any]:
    return audit.build(audit_inputs(store, settings, accounts, sts, now))


def audit_inputs(store: Store, settings: Settings, accounts: Sequence[Account], sts: Sequence[AccountStatus],
                 now: datetime) -> audit.AuditInputs:
    fc, budgets = forecast(store, settings, accounts, now)
    rows = usage(store, now, 30)
    last_used: dict[str, datetime] = {}
    for r in rows:
        if r.account_id:
            last_used[r.account_id] = datetime.fromtimestamp(r.ts, UTC)
    daily = cost.daily_totals(rows, now, 14)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    daily_cost = [((today - timedelta(days=14 - i)).strftime("%Y-%m-%d"), v) for i, v in enumerate(daily)]
    rots = [{"pool": r.pool, "best": r.best.account_id if r.best else None,
             "reason": r.best.reason if r.best else "no eligible account"} for r in rotations(sts, settings)]
    return audit.AuditInputs(
        statuses=sts, now=now, forecast=fc, budgets=budgets, tiers=tier_advice(store, accounts, now),
        underspend=schedule.underspend(sts, now), weekly=weekly(store, now, 4), anomalies=anomalies(store, now),
        daily_cost=daily_cost, last_used=last_used, fairness=fairness_report(store, now, 24, sts), rotation=rots)


FINDING_KINDS = ("budget", "anomaly")


def findings(store: Store, settings: Settings, accounts: Sequence[Account], now: datetime) -> list[Alert]:
    """Budget and anomaly conditions as ``domain.Alert`` values (window health comes from status itself)."""
    _, budgets = forecast(store, settings, accounts, now)
    inp = audit.AuditInputs(statuses=[], now=now, budgets=budgets, anomalies=anomalies(store, now))
    return [a for a in audit.findings(inp) if a.kind in FINDING_KINDS]
