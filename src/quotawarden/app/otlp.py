"""OTLP in: agents' own telemetry (``/v1/logs``, ``/v1/metrics`` on ``serve``) becomes usage events.

Each billed-call event (Claude Code's ``api_request``, Codex's ``response.completed``, Gemini CLI's
``api_response``) is stored as a usage event with ``source = otel``; a call a local log also holds counts once
(``LogDb.drop_otel_twins``). Token and cost counters never become usage: they are compared with the events of the
same session and model, and a difference is reported (:attr:`OtlpReceiver.mismatches`, and a warning in the log),
say when an agent exports metrics but not its events. Other metrics are ignored and counted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quotawarden.logsources import otel as mapping
from quotawarden.logsources.base import MalformedRecord
from quotawarden.sources.otlp import MAX_BODY, OtlpError, decode_logs, decode_metrics, media_type, success_body

if TYPE_CHECKING:
    from quotawarden.app.context import AppContext
    from quotawarden.domain import UsageEvent

__all__ = ["MAX_BODY", "Mismatch", "OtlpError", "OtlpReceiver", "OtlpResult"]
log = logging.getLogger("quotawarden.otlp")
GRACE_S = 30.0
"""A counter is compared with the events this long after it arrived (events are exported in batches too)."""
SLACK_S = 2.0
REBUILD_S = 1.0
FORGET_S = 3600.0
"""Roll-ups (what ``usage`` reports read) lag the OTLP events written by at most about this long."""
"""Events stamped this close outside a counter's interval still count in it (the two clocks are read apart)."""


@dataclass
class OtlpResult:
    """What one export request brought."""

    records: int = 0
    usage_events: int = 0
    duplicates: int = 0
    """Calls already held from a local log (kept once)."""
    malformed: int = 0
    """Billed-call records that could not be read (refused in the answer's partial success; the rest is kept)."""
    points: int = 0
    unknown_metrics: int = 0
    """Data points of metrics no known agent exports (ignored, not an error)."""
    malformed_at: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "malformed_at"}


@dataclass(frozen=True, slots=True)
class Mismatch:
    agent: str
    session: str
    model: str
    kind: str
    metric: float
    events: float
    start: float
    end: float

    def message(self) -> str:
        unit = "USD" if self.kind == "cost" else f"{self.kind} tokens"
        return (f"{self.agent} session {self.session} model {self.model}: its counter says {self.metric:g} {unit} "
                f"but its api-request events add up to {self.events:g}"
                + (" (are its events exported? set OTEL_LOGS_EXPORTER=otlp)" if self.events == 0 else ""))


@dataclass
class _Series:
    """One counter series' total as this replica saw it (deltas summed; a cumulative series' latest value)."""

    first_start: float
    last_ts: float
    total: float = 0.0
    cumulative: dict[float, float] = field(default_factory=dict)
    received: float = 0.0
    checked: float = -1.0

    def value(self) -> float:
        return self.total + sum(self.cumulative.values())


class OtlpReceiver:
    """Shared by the requests of one ``serve`` process (thread-safe)."""

    def __init__(self, ctx: AppContext) -> None:
        from quotawarden.pricing import Pricer

        self.ctx = ctx
        self.pricer = Pricer(ctx.config.settings.logs.price_overrides)
        self.counts: Counter[str] = Counter()
        self.mismatches: deque[Mismatch] = deque(maxlen=1000)
        self._series: dict[tuple[str, str, str, str], _Series] = {}
        self._lock = threading.Lock()
        self._dirty: set[int] = set()
        self._timer: threading.Timer | None = None
        self._closed = False

    # -- logs --------------------------------------------------------------------------------------------------

    def logs(self, body: bytes, content_type: str | None, content_encoding: str | None = None,
             seat: str | None = None) -> tuple[OtlpResult, bytes, str]:
        """Decode and store one ``/v1/logs`` export; (result, answer body, its content type). :class:`OtlpError`
        when the request as a whole cannot be read (nothing of it is stored then)."""
        items = decode_logs(body, content_type, content_encoding)
        res = OtlpResult(records=len(items))
        events: list[UsageEvent] = []
        for it in items:
            attrs = {**it.resource, **it.attrs}
            try:
                e = mapping.usage_event(it.event_name, attrs, it.ts, host=seat)
            except MalformedRecord as exc:
                res.malformed += 1
                res.malformed_at.append(f"{it.event_name}: {exc}")
                continue
            if e is not None:
                events.append(e)
        res.usage_events = len(events)
        res.duplicates = self._store(events)
        self._count(res)
        if res.malformed:
            log.warning("OTLP logs: %d billed-call record(s) could not be read, e.g. %s", res.malformed,
                        res.malformed_at[0])
        self.check()
        answer, kind = success_body("logs", media_type(content_type) == "application/json", res.malformed,
                                    "; ".join(res.malformed_at[:3]))
        return res, answer, kind

    def _store(self, events: list[UsageEvent]) -> int:
        from quotawarden.store.ingest import write_otel_rows

        rows = []
        for e in events:
            ts = e.ts.timestamp()
            rate = self.pricer.rates(e.provider, e.model, ts)
            cost = None if rate is None else round(rate.cost(e.input_tokens, e.output_tokens, e.cache_write_tokens,
                                                             e.cache_write_1h_tokens, e.cache_read_tokens), 8)
            rows.append((e.dedup_key, ts, e.provider, e.model, e.source.value, e.account_id, e.consumer, e.project,
                         e.session, e.host, e.input_tokens, e.output_tokens, e.cache_write_tokens,
                         e.cache_write_1h_tokens, e.cache_read_tokens, e.reasoning_tokens, cost,
                         None if e.cost_recorded is None else float(e.cost_recorded), e.request_id))
        twins = write_otel_rows(self.ctx.store, rows)
        self._touch({int(r[1] // 3600) for r in rows})
        return twins

    def _touch(self, hours: set[int]) -> None:
        """Mark hours whose roll-ups need rebuilding: done at most once per :data:`REBUILD_S` (a rebuild reads the
        whole hour; an agent exports every few seconds, a team many times a second)."""
        with self._lock:
            self._dirty |= hours
            if self._timer is None and not self._closed:
                self._timer = threading.Timer(REBUILD_S, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        """Rebuild what is pending; no timer runs afterwards."""
        with self._lock:
            self._closed = True
        with contextlib.suppress(Exception):  # a database already gone: the next tailer run rebuilds those hours
            self.flush()

    def flush(self) -> int:
        """Rebuild the roll-ups of the hours written since the last rebuild now (``usage`` reports read them)."""
        from quotawarden.store.ingest import rebuild_hours

        with self._lock:
            hours, self._dirty = self._dirty, set()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if not hours:
            return 0
        try:
            return rebuild_hours(self.ctx.store, hours)
        except Exception:
            with self._lock:  # the database is down: the next write or flush tries these hours again
                self._dirty |= hours
            raise

    # -- metrics -----------------------------------------------------------------------------------------------

    def metrics(self, body: bytes, content_type: str | None, content_encoding: str | None = None,
                seat: str | None = None) -> tuple[OtlpResult, bytes, str]:
        points = decode_metrics(body, content_type, content_encoding)
        res = OtlpResult(points=len(points))
        now = self.ctx.now().timestamp()
        with self._lock:
            for p in points:
                attrs = {**p.resource, **p.attrs}
                kind = mapping.metric_kind(p.name, attrs)
                if kind is None:
                    if not mapping.is_known_metric(p.name):
                        res.unknown_metrics += 1
                    continue
                session, model = attrs.get("session.id"), attrs.get("model")
                if not session or not model or p.kind != "sum":
                    continue
                key = (kind[0], str(session), str(model), kind[1])
                s = self._series.get(key)
                if s is None:
                    s = self._series[key] = _Series(p.start or p.ts, p.ts)
                if p.cumulative:
                    s.cumulative[p.start] = p.value
                else:
                    s.total += p.value
                s.first_start, s.last_ts, s.received = min(s.first_start, p.start or p.ts), max(s.last_ts, p.ts), now
        self._count(res)
        self.check()
        answer, ctype = success_body("metrics", media_type(content_type) == "application/json")
        return res, answer, ctype

    def check(self, now: float | None = None) -> list[Mismatch]:
        """Compare the counters received at least :data:`GRACE_S` ago (and not compared since) with the stored
        events of their session and model; returns (and keeps, and logs) the differences found."""
        from quotawarden.store.usage import session_totals

        at = self.ctx.now().timestamp() if now is None else now
        with self._lock:
            due = [(k, s.first_start, s.last_ts, s.value()) for k, s in self._series.items()
                   if s.received <= at - GRACE_S and s.checked < s.received]
            for k, *_ in due:
                self._series[k].checked = self._series[k].received
            for k in [k for k, s in self._series.items() if s.received < at - FORGET_S]:
                del self._series[k]  # a session quiet for an hour: its counters are not kept
        found: list[Mismatch] = []
        sums: dict[tuple[str, float, float], Mapping[str, Mapping[str, float]]] = {}
        for (agent, session, model, kind), lo, hi, metric in due:
            got = sums.get((session, lo, hi))
            if got is None:
                got = sums[(session, lo, hi)] = session_totals(self.ctx.store, session, lo - SLACK_S, hi + SLACK_S)
            zero = dict.fromkeys(("input", "output", "cache_read", "cache_write", "reasoning", "cost"), 0.0)
            events = mapping.comparable(agent, got.get(model, zero)).get(kind)
            if events is None:
                continue
            # one-sided: events missing is what matters (an agent exporting metrics but not logs, records lost);
            # fewer counted than stored is what a series split across replicas looks like on each of them
            if metric - events > (max(0.005 * metric, 1e-6) if kind == "cost" else 0.5):
                m = Mismatch(agent, session, model, kind, metric, events, lo, hi)
                found.append(m)
                log.warning("OTLP cross-check: %s", m.message())
        self.mismatches.extend(found)
        self.counts["mismatches"] += len(found)
        return found

    def _count(self, res: OtlpResult) -> None:
        with self._lock:
            for k, v in res.as_dict().items():
                self.counts[k] += v

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counts, "recent_mismatches": [m.message() for m in list(self.mismatches)[-20:]]}

