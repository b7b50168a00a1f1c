"""OTLP out: ``serve`` exports every window's reading and the usage totals to an OpenTelemetry collector.

Through the official SDK (``opentelemetry-sdk`` + ``opentelemetry-exporter-otlp-proto-http``), imported only when
``[otel] endpoint`` is set, so ``status`` and a ``serve`` without it never load it. Every ``[otel] interval`` the
SDK's periodic reader calls the callbacks below, which read the same status pass and usage totals the Prometheus
``/metrics`` page shows. The metric family (names, units, attributes) is documented in ``docs/otel.md``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quotawarden.analysis.status import AccountStatus
    from quotawarden.app.context import AppContext
    from quotawarden.store.usage_totals import MetricTotal

log = logging.getLogger("quotawarden.otel")
PREFIX = "llm.quota.window."
WINDOW_GAUGES: dict[str, tuple[str, str]] = {
    "used_ratio": ("1", "Fraction of the window's limit used (0-1)"),
    "remaining": ("{unit}", "What is left in the window, in its unit (llm.quota.unit)"),
    "limit": ("{unit}", "The window's limit, in its unit (llm.quota.unit)"),
    "reset_seconds": ("s", "Seconds until the window resets"),
    "health": ("1", "Window health: 0 GREEN, 1 YELLOW, 2 RED, -1 UNKNOWN"),
    "burn_rate": ("1/h", "Burn rate: fraction of the limit used per hour"),
}
USAGE_COUNTERS: dict[str, tuple[str, str]] = {
    "gen_ai.client.inference.usage.input_tokens": ("input", "Input tokens used, cached ones included"),
    "gen_ai.client.inference.usage.output_tokens": ("output", "Output tokens used, reasoning included"),
    "gen_ai.client.inference.usage.cache_read.input_tokens": ("cache_read", "Input tokens read from a cache"),
    "gen_ai.client.inference.usage.cache_write.input_tokens": ("cache_write", "Input tokens written to a cache"),
}
GENAI_PROVIDER = {"anthropic": "anthropic", "claude": "anthropic", "openai": "openai", "codex": "openai",
                  "google": "gcp.gen_ai", "gemini": "gcp.gemini", "deepseek": "deepseek", "groq": "groq",
                  "xai": "x_ai", "moonshot": "moonshot_ai", "mistral": "mistral_ai", "copilot": "github.copilot"}
"""Our provider slugs -> the GenAI conventions' ``gen_ai.provider.name`` well-known values (others pass as is)."""


def genai_provider(provider: str) -> str:
    return GENAI_PROVIDER.get(provider, provider)


def seat_of(account_id: str, local: str) -> str:
    """A pushed account is ``<seat>/<account>``; any other belongs to this machine."""
    return account_id.split("/", 1)[0] if "/" in account_id else local


def window_points(statuses: Iterable[AccountStatus], now: datetime, seat: str) -> dict[str, list[tuple[float,
                                                                                                     dict[str, str]]]]:
    """Each gauge's (value, attributes) per window; a value that is unknown (a stale reading) is left out."""
    out: dict[str, list[tuple[float, dict[str, str]]]] = {name: [] for name in WINDOW_GAUGES}
    for st in statuses:
        a = st.account
        for w in st.windows:
            s = w.sample
            attrs = {"llm.quota.account": a.id, "llm.quota.provider": a.provider,
                     "gen_ai.provider.name": genai_provider(a.provider), "llm.quota.window": w.name,
                     "llm.quota.seat": seat_of(a.id, seat), "llm.quota.provenance": s.provenance.value}
            unit = {**attrs, "llm.quota.unit": s.unit.value}
            reset = None if s.resets_at is None else max(0.0, (s.resets_at - now).total_seconds())
            for name, value, at in (("used_ratio", s.effective_ratio, attrs), ("remaining", s.remaining, unit),
                                    ("limit", s.limit, unit), ("reset_seconds", reset, attrs),
                                    ("health", float(w.status.rank - 1), attrs),
                                    ("burn_rate", w.burn_rate_per_hour, attrs)):
                if value is not None:
                    out[name].append((float(value), at))
    return out


def usage_points(totals: Iterable[MetricTotal]) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Each GenAI usage counter's cumulative (value, attributes) per provider and model (summed over projects)."""
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for t in totals:
        acc = sums.setdefault((t.provider, t.model), {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0})
        acc["input"] += t.input + t.cache_read + t.cache_write  # the conventions' input includes cached tokens
        acc["output"] += t.output
        acc["cache_read"] += t.cache_read
        acc["cache_write"] += t.cache_write
    out: dict[str, list[tuple[int, dict[str, str]]]] = {name: [] for name in USAGE_COUNTERS}
    for (provider, model), acc in sorted(sums.items()):
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": genai_provider(provider),
                 "gen_ai.system": genai_provider(provider), "gen_ai.token.modality": "unknown",
                 "gen_ai.request.model": model}
        for name, (kind, _) in USAGE_COUNTERS.items():
            out[name].append((acc[kind], attrs))
    return out


def metrics_url(endpoint: str) -> str:
    """A base URL gets the signal path (``OTEL_EXPORTER_OTLP_ENDPOINT``'s rule); a full ``.../v1/metrics`` is kept."""
    return endpoint if endpoint.rstrip("/").endswith("/v1/metrics") else endpoint.rstrip("/") + "/v1/metrics"


class OtelExporter:
    """The SDK's meter provider with one periodic OTLP/HTTP reader; :meth:`start` and :meth:`stop` from the
    serving process's lifespan. ``statuses``/``totals`` are read at each export (on the SDK's thread)."""

    def __init__(self, endpoint: str, headers: Mapping[str, str], interval_s: float,
                 statuses: Callable[[], list[AccountStatus]], totals: Callable[[], list[MetricTotal]],
                 now: Callable[[], datetime], seat: str | None = None, version: str = "") -> None:
        self.endpoint, self.headers, self.interval_s = metrics_url(endpoint), dict(headers), interval_s
        self.statuses, self.totals, self.now = statuses, totals, now
        self.seat = seat or socket.gethostname()
        self.version = version
        self.provider: Any = None
        self._cache: tuple[float, Any, Any] | None = None

    def _read(self) -> tuple[dict[str, list[tuple[float, dict[str, str]]]], dict[str, list[tuple[int, dict[str,
                                                                                                        str]]]]]:
        """Both point sets, read once per export (every callback of one collection shares them)."""
        import time

        t = time.monotonic()
        if self._cache is None or t - self._cache[0] > min(1.0, self.interval_s / 2):
            try:
                windows = window_points(self.statuses(), self.now(), self.seat)
                usage = usage_points(self.totals())
            except Exception as exc:  # a database that is down: nothing this round, the next one tries again
                log.warning("OTLP export: could not read the readings: %s", exc)
                windows, usage = {n: [] for n in WINDOW_GAUGES}, {n: [] for n in USAGE_COUNTERS}
            self._cache = (t, windows, usage)
        return self._cache[1], self._cache[2]

    def start(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.metrics import CallbackOptions, Observation
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource

        exporter = OTLPMetricExporter(endpoint=self.endpoint, headers=self.headers)
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=self.interval_s * 1000)
        resource = Resource.create({"service.name": "quotawarden", "service.version": self.version,
                                    "host.name": self.seat})
        self.provider = MeterProvider(resource=resource, metric_readers=[reader])
        meter = self.provider.get_meter("quotawarden", self.version)

        def gauge(name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
            return lambda _: [Observation(v, a) for v, a in self._read()[0][name]]

        def counter(name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
            return lambda _: [Observation(v, a) for v, a in self._read()[1][name]]

        for name, (unit, help_) in WINDOW_GAUGES.items():
            meter.create_observable_gauge(PREFIX + name, [gauge(name)], unit=unit, description=help_)
        for name, (_, help_) in USAGE_COUNTERS.items():
            meter.create_observable_counter(name, [counter(name)], unit="{token}", description=help_)
        log.info("exporting readings and usage over OTLP to %s every %gs", self.endpoint, self.interval_s)

    def flush(self) -> bool:
        return bool(self.provider is not None and self.provider.force_flush())

    def stop(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()
            self.provider = None


def from_service(ctx: AppContext) -> OtelExporter | None:
    """The exporter ``[otel]`` asks for, or None without an endpoint (the SDK is then never imported)."""
    import quotawarden
    from quotawarden.store import usage_totals

    cfg = ctx.config.settings.otel
    if not cfg.endpoint:
        return None
    headers = {k: ctx.resolve_credential(v, account=f"otel.headers.{k}") or "" for k, v in cfg.headers.items()}
    return OtelExporter(cfg.endpoint, headers, cfg.interval, lambda: ctx.status(),
                        lambda: usage_totals.metric_totals(ctx.store), ctx.now, ctx.config.settings.logs.host,
                        quotawarden.__version__)
