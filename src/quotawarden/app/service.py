"""The application facade that the CLI, the HTTP API, the dashboard and the MCP server all receive.

It owns the wiring (config, store, plug-ins, clock) and the use cases; interfaces only parse input and render
output. Built by :func:`build_service`; no module holds global state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quotawarden.analysis import cost, schedule, status_report
from quotawarden.analysis.status import AccountStatus, HealthThresholds
from quotawarden.app import reports
from quotawarden.clock import Clock, SystemClock
from quotawarden.config import Config, load_config
from quotawarden.domain import Account, AuditEvent, QuotaSample, UsageEvent, derived_ratio
from quotawarden.plugins import Plugins, load_plugins
from quotawarden.store import Store, alerts_view, open_store, sample_buckets, usage_totals
from quotawarden.store import accounts as accounts_q
from quotawarden.store import audit as audit_q
from quotawarden.store import jobs as jobs_q
from quotawarden.store import rollups as rollups_q
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q

if TYPE_CHECKING:
    import httpx

    from quotawarden.actions import alerting, autonomy, rules
    from quotawarden.actions.desk import ActionDesk
    from quotawarden.analysis.anomaly import Anomaly
    from quotawarden.analysis.cost import BudgetStatus, CostLine, Forecast
    from quotawarden.analysis.cycles import Waste
    from quotawarden.analysis.fairness import Fairness
    from quotawarden.analysis.planner import Plan
    from quotawarden.analysis.provider_anomalies import ProviderAnomaly
    from quotawarden.analysis.rotation import PoolSpec, Rotation
    from quotawarden.analysis.schedule import Reset, Underspend, WeekStat
    from quotawarden.analysis.team import Team
    from quotawarden.analysis.tiers import Advice
    from quotawarden.analysis.usage_report import ReportQuery
    from quotawarden.app import hub
    from quotawarden.app.instances import InstanceSecrets
    from quotawarden.app.otlp import OtlpReceiver
    from quotawarden.credentials.secretbox import SecretBox
    from quotawarden.credentials.vault import Vault
    from quotawarden.sources.discovery import Finding
    from quotawarden.sources.log_plan import IngestReport
    from quotawarden.sources.log_tailer import Progress
    from quotawarden.sources.probe_runner import ProbeResult
    from quotawarden.sources.proxy import ProxyApp
    from quotawarden.store.jobs import JobRun
    from quotawarden.store.usage_totals import MetricTotal


@dataclass
class Service:
    config: Config
    plugins: Plugins
    clock: Clock = field(default_factory=SystemClock)
    store_url: str | None = None
    _store: Store | None = None
    probe_transport: httpx.AsyncBaseTransport | None = None
    """An ``httpx.AsyncBaseTransport`` for probes (tests: ``httpx.ASGITransport``); None = real sockets."""

    _store_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def store(self) -> Store:
        """Opened (and migrated) on first use, so commands that never touch the database stay fast.

        Threads of the daemon (scheduler, proxy flusher, API workers) may ask at once: one opens it.
        """
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    store = open_store(self.store_url or self.config.database_url)
                    accounts_q.upsert_accounts(store, self.config.accounts)
                    self._store = store
        return self._store

    def close(self) -> None:
        if "otlp" in self.__dict__:  # roll-ups of what arrived over OTLP in the last second, then no more timers
            self.__dict__.pop("otlp").close()
        if self._store is not None:
            self._store.close()
            self._store = None

    def now(self) -> datetime:
        return self.clock.now()

    @cached_property
    def thresholds(self) -> HealthThresholds:
        t = self.config.settings.thresholds
        return HealthThresholds(t.used_yellow, t.used_red, t.exhaust_days_yellow, t.exhaust_days_red)

    # -- accounts ---------------------------------------------------------------------------------------------

    def accounts(self, *, include_all: bool = False) -> list[Account]:
        """Config accounts first, then the current ones only the store knows (observed by the proxy, registered
        by instances); ``include_all`` adds the rest (removed from the config, refused and idle: see
        ``analysis.current``), whose history stays."""
        configured = {a.id: a for a in self.config.accounts}
        extra = [a for a in accounts_q.list_accounts(self.store) if a.id not in configured]
        if not include_all:
            keep = self.current_account_ids()
            extra = [a for a in extra if a.id in keep]
        return [*configured.values(), *extra]

    def current_account_ids(self) -> set[str]:
        """The stored accounts that are current (``analysis.current``), configured ones included."""
        return reports.current_accounts(self.store, [a.id for a in self.config.accounts], self.now())

    def not_current_accounts(self) -> dict[str, str]:
        """Stored accounts that are not current -> why (``removed from the config``, ...)."""
        return reports.not_current_accounts(self.store, [a.id for a in self.config.accounts], self.now())

    def audit(self, actor: str, action: str, subject: str = "", **detail: Any) -> None:
        audit_q.record(self.store, AuditEvent(self.now(), actor, action, subject, detail))

    def audit_events(self, limit: int = 100) -> list[AuditEvent]:
        """The audit trail, newest first."""
        return audit_q.recent(self.store, limit)

    def forget_account(self, account_id: str) -> bool:
        """Drop an account's row, latest samples and state from the store (its sample history stays)."""
        return accounts_q.remove_account(self.store, account_id)

    def discover_accounts(self) -> list[Finding]:
        """Credential references found in provider env vars and agent tools' files (``sources.discovery``)."""
        from quotawarden.sources.discovery import discover

        return discover(self.plugins.providers.values())

    # -- status -----------------------------------------------------------------------------------------------

    def status(self, account_ids: Sequence[str] | None = None, *, include_all: bool = False) -> list[AccountStatus]:
        """Every current account's status (``include_all``: every account the store knows); accounts named in
        ``account_ids`` are shown whether current or not."""
        accounts = self.accounts(include_all=include_all or bool(account_ids))
        if account_ids:
            accounts = [a for a in accounts if a.id in set(account_ids)]
            if not accounts:
                return []
        ids = [a.id for a in accounts] if account_ids else None
        latest = samples_q.latest(self.store, ids)
        return reports.statuses(self.store, accounts, latest, accounts_q.states(self.store), self.config.settings,
                                 self.now(), ids)

    def status_report(self, account_ids: Sequence[str] | None = None, *, include_all: bool = False
                      ) -> dict[str, Any]:
        statuses = self.status(account_ids, include_all=include_all)
        report = status_report.report(statuses, self.now(), reports.page_rows(self.store, self.config.settings,
                                                                               self.now()))
        reports.add_local_details(self.store, report, {p.slug: p.kind for p in self.plugins.providers.values()})
        return report

    # -- what the store holds, read for display -----------------------------------------------------------------

    def samples(self, account_id: str, window: str | None = None, *, since: datetime | None = None,
                until: datetime | None = None) -> list[QuotaSample]:
        """Raw samples of one account (optionally one window) in a time range, oldest first."""
        return samples_q.history(self.store, account_id, window, since=since, until=until)

    def worst_window_history(self, hours: int = 24, points: int = 48,
                             account_ids: Sequence[str] | None = None) -> dict[str, list[float | None]]:
        """Per account, the used share of its most-used window in each of ``points`` equal steps over the last
        ``hours`` (oldest first; None where no window had a ratio): the overview's sparklines."""
        step_s = max(hours * 3600 // points, 1)
        since = datetime.fromtimestamp(self.now().timestamp() - step_s * points, tz=self.now().tzinfo)
        out: dict[str, list[float | None]] = {}
        for p in sample_buckets.peaks(self.store, since, step_s, account_ids):
            ratio = p.used_ratio if p.used_ratio is not None else derived_ratio(p.used, p.remaining, p.limit)
            if ratio is None or p.bucket < 0:
                continue
            at = min(p.bucket, points - 1)  # a reading taken right now closes the last step
            row = out.setdefault(p.account_id, [None] * points)
            row[at] = max(ratio, row[at] or 0.0)
        return out

    def rollups(self, account_id: str, window: str | None = None) -> list[dict[str, Any]]:
        """Hourly roll-ups of one account's pruned samples, oldest first."""
        return rollups_q.rollups(self.store, account_id, window)

    def usage_events(self, since: datetime | None = None, until: datetime | None = None, *,
                     account_id: str | None = None) -> list[UsageEvent]:
        """Stored usage events in ``[since, until)`` (of one account when given), oldest first."""
        equals = {"account_id": account_id} if account_id is not None else {}
        return usage_q.events_between(self.store, since, until, **equals)

    def usage_totals(self, by: str, since: float | None = None, until: float | None = None) -> list[dict[str, Any]]:
        """Requests, tokens and cost grouped by ``by`` (``store.usage_totals.GROUPS``) between epoch seconds."""
        return usage_totals.totals(self.store, by, since, until)

    def usage_metric_totals(self) -> list[MetricTotal]:
        """Tokens by kind and cost per (provider, model, project), all time: the Prometheus counters."""
        return usage_totals.metric_totals(self.store)

    def alert_rows(self, state: str | None = None) -> list[dict[str, Any]]:
        """Stored alerts as table rows, most recently updated first (``state``: open, acked, resolved)."""
        return alerts_view.list_alerts(self.store, state)

    def acknowledge_alert(self, alert_id: int, by: str) -> bool:
        """Acknowledge an open alert (others stay as they are); False when there is no such alert."""
        return alerts_view.ack(self.store, alert_id, by, self.now().timestamp())

    def job_runs(self, job: str | None = None, limit: int = 1000) -> list[JobRun]:
        """Recent runs of the daemon's scheduled jobs (or of one job), newest first; a run whose replica died
        is shown ``lost`` once that replica's lease has lapsed."""
        jobs_q.mark_lost(self.store, time.time(), jobs_q.replica_ttl(float(self.config.settings.server.poll_lease)))
        return jobs_q.runs(self.store, job, limit)

    def last_job_runs(self) -> list[JobRun]:
        """The most recent run of every scheduled job (a dead replica's open run as ``lost``)."""
        jobs_q.mark_lost(self.store, time.time(), jobs_q.replica_ttl(float(self.config.settings.server.poll_lease)))
        return jobs_q.last_runs(self.store)

    def job_outcome_counts(self) -> dict[tuple[str, str], int]:
        """(job, outcome) -> how many runs ended so."""
        return jobs_q.outcome_counts(self.store)

    def ping_database(self) -> None:
        """One round trip to the database; raises when it cannot be reached."""
        self.store.ping()

    # -- analysis (quotawarden.app.reports -> quotawarden.analysis) ----------------------------------------------

    def schedule(self, hours: float = 48) -> list[Reset]:
        """Windows resetting within ``hours``, soonest first (``analysis.schedule.Reset``)."""
        return schedule.schedule(self.status(), self.now(), hours)

    def underspend(self) -> list[Underspend]:
        """Windows with >= 40% unused and < 2 h to reset (``analysis.schedule.Underspend``)."""
        return schedule.underspend(self.status(), self.now())

    def weekly(self, weeks: int = 8) -> list[WeekStat]:
        """Peak/mean utilisation and exhaustion events per account, window and ISO week."""
        return reports.weekly(self.store, self.now(), weeks)

    def rotation(self, pool: str | None = None) -> list[Rotation]:
        """Each pool's (or one pool's) accounts ranked for use, with fallback tiers (``analysis.rotation``)."""
        from quotawarden.app.planning import kinds

        return reports.rotations(self.status(), self.config.settings, pool, kinds(self.plugins))

    def next_account(self, task: str | None = None, pool: str | None = None, *, strategy: str | None = None,
                     statuses: Sequence[AccountStatus] | None = None) -> Plan:
        """Which account (and model) next for a task class, and why (``analysis.planner.plan``): included capacity
        that expires soonest while its pace allows it, then paid fall-backs, local servers last for heavy work."""
        from quotawarden.app import planning

        return planning.next_plan(self.status() if statuses is None else statuses, self.config.settings,
                                  planning.kinds(self.plugins), reports.policy(self.config.settings), self.now(),
                                  task=task, pool=pool, strategy=strategy)

    def pool_specs(self) -> list[PoolSpec]:
        """``[[pools]]`` as ``analysis.rotation.PoolSpec`` values, for ``analysis.rotation.rank``."""
        return reports.pool_specs(self.config.settings)

    def anomalies(self) -> list[Anomaly]:
        """Usage/cost spikes (median/MAD per hour-of-week), new models, error bursts (``analysis.anomaly``)."""
        return reports.anomalies(self.store, self.now())

    def cost(self, period: str = "day", by: str = "provider", days: float = 30) -> list[CostLine]:
        """Cost lines per period and group (``analysis.cost.CostLine``)."""
        return cost.breakdown(reports.usage(self.store, self.now(), days), period, by)

    def forecast(self) -> tuple[Forecast, list[BudgetStatus]]:
        """(month-end ``Forecast`` with a 90% interval, ``BudgetStatus`` of every ``[[budgets]]`` entry)."""
        return reports.forecast(self.store, self.config.settings, self.accounts(), self.now())

    def tier_advice(self) -> list[Advice]:
        """Plan advice per account from the readings of the last 30 days, none before 7 days of readings
        (``analysis.tiers.Advice``)."""
        return reports.tier_advice(self.store, self.accounts(), self.now())

    def waste(self, days: float = 30) -> Waste:
        """Each included window's cycles and unused share over the last ``days``, and the paid fall-back spend
        that included capacity could have carried (``analysis.cycles.Waste``)."""
        from quotawarden.app import waste
        from quotawarden.app.planning import kinds

        return waste.waste(self.store, self.accounts(), kinds(self.plugins), self.now(), days)

    def fairness(self, hours: float = 24, anonymize: bool = False, keep: str | None = None) -> Fairness:
        """Shares, Jain index, Gini and advice across consumers (``analysis.fairness.Fairness``)."""
        return reports.fairness_report(self.store, self.now(), hours, self.status(), keep, anonymize)

    def audit_report(self) -> dict[str, Any]:
        """The daily audit as plain data (summary/alerts/account_details/recommendations/historical_trends)."""
        from quotawarden.app.planning import kinds

        return reports.audit_report(self.store, self.config.settings, self.accounts(), self.status(), self.now(),
                                    kinds(self.plugins))

    def analysis_findings(self) -> tuple[list[rules.Finding], tuple[str, ...]]:
        """(budget and anomaly ``actions.rules.Finding`` values, the kinds evaluated), ready for
        ``evaluate_alerts(*service.analysis_findings())``."""
        from quotawarden.actions.rules import Finding

        alerts = reports.findings(self.store, self.config.settings, self.accounts(), self.now())
        return ([Finding(a.kind, a.key.split(":", 1)[1], a.severity, a.message, a.action, a.account_id, a.window)
                 for a in alerts], reports.FINDING_KINDS)

    def detect_provider_anomalies(self) -> list[ProviderAnomaly]:
        """Find provider anomalies in the last hour's readings, usage and refusals and store them (each once);
        returns the new ones (``analysis.provider_anomalies``). The daemon runs it after polls, as does ``poll``."""
        return reports.detect_provider_anomalies(self.store, self.now())

    def provider_anomalies(self, account_id: str | None = None, since: datetime | None = None,
                           limit: int = 1000) -> list[ProviderAnomaly]:
        """Stored provider anomalies with their evidence (of one account, since a time), newest first."""
        return reports.stored_provider_anomalies(self.store, account_id, since, limit)

    # -- actions: alerts, digests, autonomous actions (quotawarden.actions.desk) ---------------------------------

    @cached_property
    def actions(self) -> ActionDesk:
        from quotawarden.actions.desk import ActionDesk

        return ActionDesk(store=lambda: self.store, settings=self.config.settings, now=self.now,
                          statuses=self.status, accounts=self.accounts, audit=self.audit,
                          resolve_secret=self.resolve_credential,
                          oauth_providers=frozenset(p.slug for p in self.plugins.providers.values()
                                                    if p.auth == "oauth"))

    def evaluate_alerts(self, findings: Sequence[rules.Finding] | None = None,
                        finding_kinds: Sequence[str] = ()) -> alerting.Evaluation:
        """Open/update/resolve alerts from status and analysis findings (budgets, anomalies); the daemon calls it
        after each tick. ``findings=None`` computes them; pass ``()`` for health alerts only."""
        if findings is None:
            findings, finding_kinds = self.analysis_findings()
        return self.actions.evaluate(findings, finding_kinds)

    def throttle_consumers(self, hours: float = 24, actor: str = "daemon") -> list[autonomy.Outcome]:
        """Fairness over the last ``hours``, and the ``throttle_consumers`` action on its advice (the daemon's
        ``fairness`` job)."""
        report = self.fairness(hours)
        hold = float(self.config.settings.schedule.fairness_interval) * 4
        return self.actions.throttle(report.consumers, hold_s=hold, actor=actor)

    def deliver_alerts(self) -> list[alerting.Sent]:
        """Send pending notices; each is claimed atomically first, so replicas never double-send."""
        return self.actions.deliver()

    def resolve_credential(self, ref: str | None, account: str = "") -> str | None:
        from quotawarden.credentials import resolve

        if ref and ref.startswith("vault:instance/"):  # sealed by the daemon at instance registration
            return resolve(ref, vault=self.instance_secrets, account=account)
        return resolve(ref, vault=self.vault if ref and ref.startswith("vault:") else None, account=account)

    @cached_property
    def vault(self) -> Vault:
        from quotawarden.credentials.vault import Vault

        return Vault.default(audit=self.audit)

    # -- daemon and agent instances (quotawarden.app.instances, interfaces.daemon) --------------------------------

    @cached_property
    def secret_box(self) -> SecretBox:
        """Seals instance credentials at rest (``quotawarden.credentials.secretbox.SecretBox``)."""
        from quotawarden.credentials.secretbox import KeyFileBox

        return KeyFileBox(self.config.settings.server.key_file)

    @cached_property
    def instance_secrets(self) -> InstanceSecrets:
        """A ``SecretSource`` for ``vault:instance/<fingerprint>`` references of registered instances."""
        from quotawarden.app.instances import InstanceSecrets

        return InstanceSecrets(self)


    # -- agent logs (quotawarden.app.agent_logs) ------------------------------------------------------------------

    def ingest_logs(self, sources: Sequence[str] | None = None,
                    paths: Mapping[str, list[str]] | list[str] | None = None,
                    progress: Progress | None = None) -> IngestReport:
        """One incremental pass over the agent logs (safe to call on a schedule); returns an ``IngestReport``."""
        from quotawarden.app import agent_logs

        return agent_logs.ingest_logs(self, sources, paths, progress)

    def usage_report(self, query: ReportQuery) -> dict[str, Any]:
        """A ccusage-shaped usage report (``analysis.usage_report.ReportQuery``) from the hourly roll-up."""
        from quotawarden.app import agent_logs

        return agent_logs.usage_report(self, query)


    # -- polling (quotawarden.app.polling) --------------------------------------------------------------------

    def poll(self, account_ids: Sequence[str] | None = None, providers: Sequence[str] | None = None,
             force: bool = False, *, on_start: Callable[[int], None] | None = None,
             on_result: Callable[[ProbeResult], None] | None = None) -> list[ProbeResult]:
        """Probe accounts now (cache guard unless ``force``); stores samples and outcomes. ``ProbeResult`` list.
        ``on_start(n)``: how many accounts will be probed; ``on_result``: each result as it comes (progress)."""
        from quotawarden.app import polling

        return polling.poll(self, account_ids, providers, force, on_start=on_start, on_result=on_result)

    async def poll_async(self, account_ids: Sequence[str] | None = None, providers: Sequence[str] | None = None,
                         force: bool = False) -> list[ProbeResult]:
        """``poll`` for callers already inside an event loop (the daemon's scheduler)."""
        from quotawarden.app import polling

        return await polling.poll_async(self, account_ids, providers, force)

    # -- piggyback proxy (quotawarden.app.proxy, sources.proxy) ---------------------------------------------

    def build_proxy(self, host: str | None = None, port: int | None = None) -> ProxyApp:
        """The proxy as a plain ASGI app (``sources.proxy.ProxyApp``) wired to this service's store, keys and
        prices; start/stop its flusher with ASGI lifespan or ``await app.start()`` / ``await app.stop()``."""
        from quotawarden.app import proxy

        return proxy.build_proxy(self, host, port)

    def proxy_backlog(self) -> tuple[int, Path]:
        """Usage records the proxy left for this store (its store was unreachable when it stopped, or it was
        killed) that are not in the store yet, and the folder they wait in; stored when a proxy starts again."""
        from quotawarden.sources import proxy_spill

        folder = proxy_spill.spill_folder(self.config.settings.proxy.spill_dir, self.store.url)
        return proxy_spill.backlog(folder)[0], folder

    # -- OpenTelemetry (quotawarden.app.otlp in, quotawarden.app.otel_export out) -------------------------------

    @cached_property
    def otlp(self) -> OtlpReceiver:
        """The OTLP receiver behind ``serve``'s ``/v1/logs`` and ``/v1/metrics`` (built on first use)."""
        from quotawarden.app.otlp import OtlpReceiver

        return OtlpReceiver(self)

    # -- seats and the hub (quotawarden.app.hub, analysis.team) -------------------------------------------------

    def hub_push(self, *, everything: bool = False) -> hub.PushReport:
        """Push this seat's new readings, usage and outcomes to ``[hub] url`` (``quotawarden push``, the daemon)."""
        from quotawarden.app import hub

        return hub.push(self, everything=everything)

    def hub_receive(self, seat: str, body: bytes, content_type: str | None, encoding: str | None) -> dict[str, Any]:
        """Store one seat's push (the hub's ``POST /v1/hub/push``)."""
        from quotawarden.app import hub

        return hub.receive(self, seat, body, content_type, encoding)

    def hub_seat_tokens(self) -> dict[str, str]:
        """Token -> seat name for ``[[hub.seats]]``."""
        from quotawarden.app import hub

        return hub.seat_tokens(self)

    def team(self, seat: str | None = None, days: float = 30.0) -> Team:
        """The team view of the seats pushing here; ``seat``: that seat's part only."""
        from quotawarden.analysis import team
        from quotawarden.store import hub as hub_q

        declared = {s.name for s in self.config.settings.hub.seats}
        pushed = {r.seat: r for r in hub_q.seats(self.store)}
        seats = [team.SeatPushes(n, n in declared, r.last_push_ts if r else None, r.interval_s if r else None,
                                 r.pushes if r else 0)
                 for n in sorted(declared | set(pushed)) for r in [pushed.get(n)]]
        ids = [a.id for a in self.accounts() if (a.tags.get("seat") or team.seat_of(a.id) or "") in
               {s.name for s in seats}]
        statuses = self.status(ids) if ids else []
        costs = hub_q.cost_by_seat_project(self.store, [s.name for s in seats], self.now().timestamp() - days * 86400)
        names = {slug: p.display_name for slug, p in self.plugins.providers.items()}
        view = team.build(statuses, seats, costs, self.now(), provider_names=names, cost_days=days,
                          default_interval_s=float(self.config.settings.hub.interval))
        return team.for_seat(view, seat) if seat is not None else view


def build_service(config_path: str | Path | None = None, *, store_url: str | None = None,
                  clock: Clock | None = None, plugins: Plugins | None = None) -> Service:
    plugins = plugins or load_plugins()
    config = load_config(config_path, plugins)
    from quotawarden.app.planning import check_plans

    check_plans(config)  # an ambiguous plan name (Claude's "max") is a config error
    return Service(config=config, plugins=plugins, clock=clock or SystemClock(), store_url=store_url)
