"""Analysis use cases: read what each needs from the store (``store.analysis_queries``), run the pure functions of
``quotawarden.analysis``, return plain data. ``Service`` exposes each as a one-line method."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from quotawarden.analysis import (
    anomaly,
    audit,
    cost,
    counting,
    current,
    fairness,
    provider_anomalies,
    reconcile,
    rotation,
    schedule,
    status_report,
    tiers,
)
from quotawarden.analysis.burn import BurnRate, Point
from quotawarden.analysis.health import Policy
from quotawarden.analysis.status import AccountStatus
from quotawarden.config import Settings
from quotawarden.domain import Account, AccountState, Alert, Health, QuotaSample, Severity
from quotawarden.spec import QUOTA_FREE_KINDS
from quotawarden.store import Store
from quotawarden.store import accounts as accounts_q
from quotawarden.store import analysis_queries as aq
from quotawarden.store import outcomes as outcomes_q
from quotawarden.store import provider_anomalies as pa_q
from quotawarden.store import provider_status as status_q
from quotawarden.store.health_inputs import PAGE_FRESH_INTERVALS

DAY = 86400.0


def policy(settings: Settings) -> Policy:
    return Policy.from_mapping(settings.thresholds.model_dump())  # as the fast paths read the raw file


def page_rows(store: Store, settings: Settings, now: datetime) -> status_report.Pages:
    """provider -> (state, description, observed_ts) of its status page's readings recent enough to count."""
    return status_q.read_since(store, now.timestamp() - PAGE_FRESH_INTERVALS * float(settings.schedule.status_interval))


def status_pages(store: Store, settings: Settings, now: datetime) -> dict[str, dict[str, Any]]:
    """provider -> its status page's recent reading (``state``, ``description``, ``observed_at``)."""
    return status_report.pages_json(page_rows(store, settings, now))


def rates(store: Store, account_ids: Sequence[str] | None = None) -> dict[tuple[str, str], BurnRate]:
    return status_report.rates(aq.recent_buckets(store, account_ids))


def statuses(store: Store, accounts: Sequence[Account], latest: Sequence[QuotaSample],
             states: Mapping[str, AccountState], settings: Settings, now: datetime,
             account_ids: Sequence[str] | None = None) -> list[AccountStatus]:
    errors = outcomes_q.error_rates(store, now.timestamp() - DAY, account_ids=account_ids)
    services = {p: state for p, (state, _, _) in page_rows(store, settings, now).items()
                if state not in status_q.QUIET}
    latest = [*latest, *counted(store, accounts, now)]
    scope = status_report.reading_scope(latest, account_ids)
    per_source = pa_q.latest_per_source(store, now.timestamp() - READINGS_HORIZON_S, *scope) if scope else []
    return status_report.statuses(accounts, latest, per_source, states, policy(settings), now,
                                  rates=rates(store, account_ids), errors=errors, services=services)


def counted(store: Store, accounts: Sequence[Account], now: datetime) -> list[QuotaSample]:
    """The estimated windows of accounts with configured limits (``analysis.counting``), from their usage events."""
    limits = status_report.counted_limits(accounts)
    if not limits:
        return []
    return status_report.counted_samples(limits, aq.counted_usage(store, sorted(limits), *counting.since(now)), now)


def store_counted(store: Store, accounts: Sequence[Account], now: datetime,
                  official: frozenset[tuple[str, str]] = frozenset()) -> int:
    """Write the counted windows to the store (so the fast summary and the status line read them), except where
    an official reading of the window still stands (a 429's violation before its reset) or is named in
    ``official`` (just read by a probe). Returns how many were written."""
    from quotawarden.domain import Provenance
    from quotawarden.store import samples as samples_q

    found = counted(store, accounts, now)
    if not found:
        return 0
    standing = {(s.account_id, s.window) for s in samples_q.latest(store, sorted({s.account_id for s in found}))
                if s.provenance is Provenance.OFFICIAL and s.resets_at is not None and s.resets_at > now}
    keep = [s for s in found if (s.account_id, s.window) not in standing | official]
    samples_q.write_samples(store, keep)
    return len(keep)


READINGS_HORIZON_S = status_report.READINGS_HORIZON_S


def readings(store: Store, latest: Sequence[QuotaSample], now: datetime,
             account_ids: Sequence[str] | None = None) -> dict[tuple[str, str], reconcile.Reading]:
    """The one reading per account and window (``analysis.reconcile``): each source's latest sample of the windows
    in ``latest``, reconciled."""
    if not latest:
        return {}
    ids = sorted({s.account_id for s in latest}) if account_ids is None else list(account_ids)
    per_source = pa_q.latest_per_source(store, now.timestamp() - READINGS_HORIZON_S, ids,
                                        sorted({s.window for s in latest}))
    return reconcile.reconcile(per_source, now, latest)


def _known(store: Store) -> list[current.Known]:
    return [current.Known(r[0], r[3], r[4], r[5], max((t for t in (r[6], r[7]) if t is not None), default=None))
            for r in accounts_q.known_accounts(store)]


def current_accounts(store: Store, configured: Sequence[str], now: datetime) -> set[str]:
    """Ids of the current accounts (``analysis.current``): every configured one, and the store's that count."""
    return set(configured) | current.current_ids(_known(store), set(configured), now.timestamp())


def not_current_accounts(store: Store, configured: Sequence[str], now: datetime) -> dict[str, str]:
    """Stored accounts that are not current -> why."""
    rows, ids = _known(store), set(configured)
    fps = {k.fingerprint: k.id for k in rows if k.fingerprint and k.id in ids}
    out = {k.id: current.not_current(k, ids, fps, now.timestamp()) for k in rows}
    return {k: why for k, why in out.items() if why}


def pool_specs(settings: Settings) -> list[rotation.PoolSpec]:
    return [rotation.PoolSpec(p.name, tuple(p.accounts), tuple(p.fallback)) for p in settings.pools]


def rotations(sts: Sequence[AccountStatus], settings: Settings, pool: str | None = None,
              kinds: Mapping[str, str] | None = None) -> list[rotation.Rotation]:
    """Each pool ranked by its ``strategy`` (else the ``[planner] strategy``); with ``kinds`` (provider ->
    ``ProviderSpec.kind``) paid keys go after included capacity and local servers last, as ``quotawarden next``
    orders them."""
    specs = pool_specs(settings)
    names = [pool] if pool else ([p.name for p in specs] or sorted({s.account.pool for s in sts if s.account.pool}))
    cands = rotation.candidates(sts, policy(settings), kinds)
    own = {p.name: p.strategy for p in settings.pools if p.strategy}
    return [rotation.rank(cands, specs, name, strategy=own.get(name) or settings.planner.strategy)
            for name in names]


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
        current = tiers.plan_for(catalog, a.plan, a.provider)
        out.append(tiers.advise(a.id, current, day_list, catalog, named=a.plan, provider=a.provider))
    return out


def fairness_report(store: Store, now: datetime, hours: float, sts: Sequence[AccountStatus],
                    anonymize_as: str | None = None, anonymize: bool = False) -> fairness.Fairness:
    rows = usage(store, now, hours / 24)
    pressure = any(s.status in (Health.RED, Health.YELLOW) for s in sts if s.account.pool)
    f = fairness.fairness(rows, pressure=pressure)
    return fairness.anonymize(f, anonymize_as) if anonymize else f


def audit_report(store: Store, settings: Settings, accounts: Sequence[Account], sts: Sequence[AccountStatus],
                 now: datetime, kinds: Mapping[str, str] | None = None) -> dict[str, Any]:
    report = audit.build(audit_inputs(store, settings, accounts, sts, now, kinds))
    usage = {m.pop("account"): m for m in memory_usage(accounts_q.state_details(store, [a.id for a in accounts]))}
    for d in report.get("account_details", []):
        if d.get("account") in usage:
            d["memory_usage"] = usage[d["account"]]
    return report


LOCAL_KINDS = QUOTA_FREE_KINDS
"""Provider kinds that read a machine, not a quota (``ProviderSpec.kind``): never capacity for work."""
SHOWN_DETAILS = status_report.SHOWN_DETAILS


def memory_usage(details: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per local server, memory in use and the loaded model's size (bytes): the audit's ``memory_usage`` of that
    account's ``account_details`` entry."""
    out = []
    for account_id, d in sorted(details.items()):
        mem = d.get("memory")
        if isinstance(mem, dict):
            out.append({"account": account_id, **{k: mem.get(k) for k in (
                "in_use_bytes", "vram_bytes", "model_bytes", "loaded_models", "basis") if k in mem}})
    return out


def add_local_details(store: Store, report: dict[str, Any], kinds: Mapping[str, str]) -> None:
    """``details`` of each local server and tool account in a ``status --json`` report (what its last probe read:
    loaded models, memory, MCP servers, activity); they describe a machine, not quota capacity."""
    ids = status_report.local_ids(report, kinds)
    if ids:
        status_report.add_details(report, accounts_q.state_details(store, ids))


def audit_inputs(store: Store, settings: Settings, accounts: Sequence[Account], sts: Sequence[AccountStatus],
                 now: datetime, kinds: Mapping[str, str] | None = None) -> audit.AuditInputs:
    """Everything the audit reads. ``kinds`` (provider -> ``ProviderSpec.kind``) sets local servers and tools apart
    and adds the waste report (``app.waste``)."""
    from quotawarden.app import waste as waste_uc

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
        daily_cost=daily_cost, last_used=last_used, fairness=fairness_report(store, now, 24, sts), rotation=rots,
        waste=None if kinds is None else waste_uc.waste(store, accounts, kinds, now, 30),
        quota_free=() if kinds is None else [a.id for a in accounts
                                             if a not in waste_uc.quota_accounts([a], kinds)])


FINDING_KINDS = ("budget", "anomaly", "provider_anomaly")


def findings(store: Store, settings: Settings, accounts: Sequence[Account], now: datetime) -> list[Alert]:
    """Budget, anomaly and provider-anomaly conditions as ``domain.Alert`` values (window health comes from status
    itself)."""
    _, budgets = forecast(store, settings, accounts, now)
    inp = audit.AuditInputs(statuses=[], now=now, budgets=budgets, anomalies=anomalies(store, now))
    found = [a for a in audit.findings(inp) if a.kind in FINDING_KINDS]
    return found + provider_anomaly_alerts(stored_provider_anomalies(store, since=now - ANOMALY_ALERT_SPAN))


# -- provider anomalies (analysis.provider_anomalies) -----------------------------------------------------------

ANOMALY_LOOKBACK = timedelta(hours=1)
"""Each detection pass reads the readings, usage and refusals of the last hour (the daemon runs it after polls)."""
ANOMALY_ALERT_SPAN = timedelta(days=7)
"""An anomaly's alert stays open this long after it happened (one notice when it opens), then resolves."""


def detect_provider_anomalies(store: Store, now: datetime, lookback: timedelta = ANOMALY_LOOKBACK
                              ) -> list[provider_anomalies.ProviderAnomaly]:
    """Find provider anomalies in the stored readings, usage and refusals of ``lookback``; store them (each once).
    Returns the ones not stored before."""
    since = (now - lookback).timestamp()
    samples = pa_q.official_samples(store, since, now.timestamp())
    uses = [provider_anomalies.Use(*r) for r in pa_q.usage_points(store, since, now.timestamp())]
    refs = [provider_anomalies.Refusal(acc, datetime.fromtimestamp(at, UTC), reason, details)
            for acc, at, reason, details in pa_q.refusals(store, since)]
    found = provider_anomalies.detect(samples, uses, refs)
    rows = [{"key": a.key, "kind": a.kind, "account_id": a.account_id, "window": a.window,
             "at_ts": a.at.timestamp(), "detected_ts": now.timestamp(), "message": a.message,
             "expected": a.expected, "evidence": a.evidence} for a in found]
    stored = {r["key"] for r in pa_q.list_anomalies(store, since=since - 1, limit=100_000)}
    pa_q.save(store, rows)
    return [a for a in found if a.key not in stored]


def stored_provider_anomalies(store: Store, account_id: str | None = None, since: datetime | None = None,
                              limit: int = 1000) -> list[provider_anomalies.ProviderAnomaly]:
    """Stored anomalies (of one account, since a time), newest first."""
    rows = pa_q.list_anomalies(store, account_id, since.timestamp() if since else None, limit)
    return [provider_anomalies.ProviderAnomaly(
        key=r["key"], kind=r["kind"], account_id=r["account_id"], window=r["window"],
        at=datetime.fromtimestamp(r["at_ts"], UTC), message=r["message"], expected=r["expected"] or "",
        evidence=dict(r["evidence"] or {}), detected_at=datetime.fromtimestamp(r["detected_ts"], UTC))
        for r in rows]


def provider_anomaly_alerts(found: Sequence[provider_anomalies.ProviderAnomaly]) -> list[Alert]:
    """One warning per anomaly, keyed by the anomaly: it opens (and is announced) once."""
    return [Alert(f"provider_anomaly:{a.key}", Severity.WARNING, a.message,
                  f"expected {a.expected}; export the evidence for the provider: "
                  f"`quotawarden evidence {a.account_id}`", a.account_id, a.window, "provider_anomaly")
            for a in found]
