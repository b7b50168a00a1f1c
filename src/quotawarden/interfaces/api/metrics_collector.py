"""The collector behind ``/metrics``: reads the store at scrape time into the app's own Prometheus registry.

Imported by the first scrape (``metrics.registry``), with ``prometheus_client``: a daemon nobody scrapes loads
neither. Names follow the conventions: ``quotawarden_window_used_ratio``, ``..._seconds``, ``..._total``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from quotawarden.app import instances
from quotawarden.interfaces.api.state import ApiState, TTLCache

_HEALTH = {"GREEN": 0, "YELLOW": 1, "RED": 2, "UNKNOWN": -1}
_WINDOW = ["account", "provider", "window"]
WASTE_DAYS = 7
"""The waste gauges cover this many days (a scrape reads that much history of the included windows)."""


def _seconds(until: datetime | None, now: datetime) -> float | None:
    return None if until is None else (until - now).total_seconds()


class StoreCollector(Collector):
    def __init__(self, st: ApiState) -> None:
        self.st = st
        self.cache = TTLCache(5.0)

    def collect(self) -> Iterator[Metric]:
        yield from self.cache.get("m", lambda: list(self._collect()))

    def _collect(self) -> Iterator[Metric]:
        svc = self.st.service
        now = svc.now()
        g = {name: GaugeMetricFamily(f"quotawarden_window_{name}", help_, labels=labels) for name, help_, labels in (
            ("used_ratio", "Fraction of the window's limit used (0-1)", _WINDOW),
            ("remaining", "Units remaining in the window", [*_WINDOW, "unit"]),
            ("limit", "The window's limit", [*_WINDOW, "unit"]),
            ("health", "Window health: 0 GREEN, 1 YELLOW, 2 RED, -1 UNKNOWN", _WINDOW),
            ("burn_rate_ratio", "Burn rate, fraction of the limit per hour", _WINDOW),
            ("exhaustion_seconds", "Seconds until the window is projected to run out", _WINDOW),
            ("reset_seconds", "Seconds until the window resets", _WINDOW),
        )}
        health = GaugeMetricFamily("quotawarden_account_health", "Account health: 0 GREEN, 1 YELLOW, 2 RED, -1 UNKNOWN",
                                   labels=["account", "provider"])
        for st in svc.status():
            a = st.account
            health.add_metric([a.id, a.provider], _HEALTH[st.status.value])
            for w in st.windows:
                s, lab = w.sample, [a.id, a.provider, w.name]
                for name, value in (("used_ratio", s.effective_ratio), ("burn_rate_ratio", w.burn_rate_per_hour),
                                    ("exhaustion_seconds", _seconds(w.exhausts_at, now)),
                                    ("reset_seconds", _seconds(s.resets_at, now))):
                    if value is not None:
                        g[name].add_metric(lab, value)
                g["health"].add_metric(lab, _HEALTH[w.status.value])
                if s.remaining is not None:
                    g["remaining"].add_metric([*lab, s.unit.value], s.remaining)
                if s.limit is not None:
                    g["limit"].add_metric([*lab, s.unit.value], s.limit)
        yield from g.values()
        yield health
        yield from self._usage()
        yield from self._waste()
        yield from self._jobs()
        insts = instances.all_instances(svc)
        yield GaugeMetricFamily("quotawarden_instances", "Registered agent instances", value=len(insts))

    def _usage(self) -> Iterator[Metric]:
        labels = ["provider", "model", "project"]
        cost = CounterMetricFamily("quotawarden_cost_usd", "Cost in USD", labels=labels)
        tokens = CounterMetricFamily("quotawarden_tokens", "Tokens", labels=[*labels, "kind"])
        for r in self.st.service.usage_metric_totals():
            lab = [r.provider, r.model, r.project or ""]
            if r.cost is not None:
                cost.add_metric(lab, float(r.cost))
            for kind in ("input", "output", "cache_read", "cache_write"):
                tokens.add_metric([*lab, kind], float(getattr(r, kind)))
        yield cost
        yield tokens

    def _waste(self) -> Iterator[Metric]:
        svc = self.st.service
        provider = {a.id: a.provider for a in svc.accounts()}
        w = svc.waste(WASTE_DAYS)
        wasted = GaugeMetricFamily("quotawarden_window_wasted_ratio",
                                   f"Mean share of the window left unused at its resets, last {WASTE_DAYS} days",
                                   labels=_WINDOW)
        cycles = GaugeMetricFamily("quotawarden_window_cycles", f"Window resets seen in the last {WASTE_DAYS} days",
                                   labels=_WINDOW)
        overage = GaugeMetricFamily("quotawarden_avoidable_overage_usd",
                                    f"Paid fall-back spend while included capacity had headroom, last {WASTE_DAYS} "
                                    "days", labels=["account", "provider"])
        for a in w.accounts:
            for win in a.windows:
                lab = [a.id, provider.get(a.id, ""), win.name]
                cycles.add_metric(lab, len(win.cycles))
                if win.wasted_ratio is not None:
                    wasted.add_metric(lab, win.wasted_ratio)
            if a.paid_usd:
                overage.add_metric([a.id, provider.get(a.id, "")], a.avoidable_overage_usd)
        yield wasted
        yield cycles
        yield overage

    def _jobs(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("quotawarden_job_runs", "Scheduled job runs by outcome", labels=["job", "outcome"])
        for (job, outcome), n in self.st.service.job_outcome_counts().items():
            runs.add_metric([job, outcome], n)
        yield runs
        last = GaugeMetricFamily("quotawarden_job_last_run_timestamp_seconds", "When each job last started",
                                 labels=["job", "outcome"])
        for r in self.st.service.last_job_runs():
            last.add_metric([r.job, r.outcome or "running"], r.started_ts)
        yield last


def build_registry(st: ApiState) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(st))
    return registry
