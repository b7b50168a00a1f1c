"""OTLP in on a real uvicorn, both databases: the official OpenTelemetry SDK exporters as the client (protobuf),
OTLP/JSON documents shaped like Claude Code, Codex and Gemini CLI exports (``fixtures/otlp``), bad requests, and
one call seen both over OTLP and in a local Claude Code log counted once."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from quotawarden.analysis.usage_report import ReportQuery
from quotawarden.app.service import Service
from quotawarden.domain import Source
from quotawarden.interfaces.api import create_app
from tests.daemon.conftest import ADMIN, Uvicorn

FIX = Path(__file__).parent / "fixtures" / "otlp"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
SESSION = "0b6f3c1e-5d1a-4c1e-9a55-2f7e2a1b0c01"


@pytest.fixture
def hub(svc: Service) -> Any:
    with Uvicorn(create_app(svc, admin_token=ADMIN)) as url:
        yield url


def _otel_events(svc: Service) -> list[Any]:
    return [e for e in svc.usage_events() if e.source is Source.OTEL]


def _post(url: str, path: str, body: bytes, ctype: str = "application/json", **headers: str) -> httpx.Response:
    return httpx.post(url + path, content=body, headers={**AUTH, "content-type": ctype, **headers}, timeout=10)


def test_sdk_exporters_protobuf_logs_and_metrics(svc: Service, hub: str) -> None:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import Counter, MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({"service.name": "claude-code", "service.version": "2.1.39", "host.name": "laptop-ada"})
    # the agent's meters start with its session, before its first call
    exporter = OTLPMetricExporter(endpoint=hub + "/v1/metrics", headers=AUTH,
                                  preferred_temporality={Counter: AggregationTemporality.DELTA})
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    meters = MeterProvider(resource=resource, metric_readers=[reader])
    meter = meters.get_meter("com.anthropic.claude_code", "2.1.39")
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=hub + "/v1/logs", headers=AUTH)))
    now = datetime.now(UTC)
    std = {"session.id": SESSION, "user.email": "ada@example.com", "user.account_uuid": "uuid-ada",
           "organization.id": "org-1", "app.version": "2.1.39"}
    calls = [("claude-sonnet-4-5-20250929", 10, 390, 25192, 1802, 0.0202101),
             ("claude-sonnet-4-5-20250929", 3, 120, 27000, 400, 0.0118),
             ("claude-haiku-4-5-20251001", 1204, 39, 0, 0, 0.001399)]
    logger = logs.get_logger("com.anthropic.claude_code.events", "2.1.39")
    for i, (model, inp, out, cr, cw, cost) in enumerate(calls):
        at = now + timedelta(seconds=i)
        logger.emit(timestamp=int(at.timestamp() * 1e9), body="claude_code.api_request", attributes={
            **std, "event.name": "api_request", "event.timestamp": at.isoformat().replace("+00:00", "Z"),
            "event.sequence": i, "model": model, "input_tokens": inp, "output_tokens": out,
            "cache_read_tokens": cr, "cache_creation_tokens": cw, "cost_usd": cost, "duration_ms": 900})
    logger.emit(body="claude_code.user_prompt", attributes={**std, "event.name": "user_prompt", "prompt_length": 7})
    logs.force_flush()

    tokens = meter.create_counter("claude_code.token.usage", unit="tokens")
    cost_c = meter.create_counter("claude_code.cost.usage", unit="USD")
    meter.create_counter("claude_code.lines_of_code.count").add(12, {**std, "type": "added"})
    meter.create_counter("someone_else.requests").add(3)  # unknown: ignored and counted
    for model, inp, out, cr, cw, cost in calls:
        for kind, n in (("input", inp), ("output", out), ("cacheRead", cr), ("cacheCreation", cw)):
            tokens.add(n, {**std, "model": model, "type": kind})
        cost_c.add(cost, {**std, "model": model})
    meters.force_flush()

    got = sorted(_otel_events(svc), key=lambda e: e.ts)
    assert [(e.model, e.input_tokens, e.output_tokens, e.cache_read_tokens, e.cache_write_tokens) for e in got] == \
        [c[:5] for c in calls]
    first = got[0]
    assert (first.provider, first.consumer, first.host, first.session) == \
        ("anthropic", "ada@example.com", "laptop-ada", SESSION)
    assert float(first.cost_recorded or 0) == pytest.approx(0.0202101) and first.cost is not None
    assert svc.otlp.counts["unknown_metrics"] == 1 and svc.otlp.counts["usage_events"] == 3

    # the counters agree with the events: nothing to report; one that disagrees is named
    assert svc.otlp.check(now=svc.now().timestamp() + 60) == []
    tokens.add(500, {**std, "model": "claude-haiku-4-5-20251001", "type": "output"})
    meters.force_flush()
    found = svc.otlp.check(now=svc.now().timestamp() + 60)
    assert [(m.model, m.kind, m.metric, m.events) for m in found] == [("claude-haiku-4-5-20251001", "output", 539, 39)]
    assert len(_otel_events(svc)) == 3  # counters never add usage
    logs.shutdown()
    meters.shutdown()


def test_otlp_json_documents_of_three_agents(svc: Service, hub: str) -> None:
    for name in ("claude_code_logs", "codex_logs", "gemini_cli_logs"):
        body = (FIX / f"{name}.json").read_bytes()
        r = _post(hub, "/v1/logs", gzip.compress(body), **{"content-encoding": "gzip"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json" and r.json() == {}
        assert _post(hub, "/v1/logs", body).status_code == 200  # sent again: stored once
    by = {e.provider: e for e in _otel_events(svc)}
    assert len(_otel_events(svc)) == 4
    codex, gemini = by["openai"], by["google"]
    # Codex: input includes the cached part, which the event stores apart (as the local log reader does)
    assert (codex.input_tokens, codex.cache_read_tokens, codex.output_tokens, codex.consumer, codex.host) == \
        (16093 - 3456, 3456, 37, "grace@example.com", "laptop-grace")
    # Gemini CLI: promptTokenCount includes the cache; thoughts count as output (and as reasoning)
    assert (gemini.input_tokens, gemini.cache_read_tokens, gemini.output_tokens, gemini.reasoning_tokens) == \
        (33779 - 9513, 9513, 390 + 2111, 2111)
    r = _post(hub, "/v1/metrics", (FIX / "claude_code_metrics.json").read_bytes())
    assert r.status_code == 200 and r.json() == {}
    assert svc.otlp.check(now=svc.now().timestamp() + 60) == []

    # usage --source otel: the report reads them (its roll-ups follow within a second; flushed here)
    svc.otlp.flush()
    report = svc.usage_report(ReportQuery(kind="daily", source="otel"))
    assert report["totals"]["inputTokens"] == 10 + 1204 + (16093 - 3456) + (33779 - 9513)
    assert (report["totals"]["outputTokens"], report["totals"]["reasoningTokens"]) == (390 + 39 + 37 + 390, 2111)
    assert svc.usage_report(ReportQuery(kind="daily", source="claude_code"))["totals"]["inputTokens"] == 0
    # the command itself: quotawarden usage daily --source otel --json (no log to read for otel)
    out = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--db", svc.store.url, "usage",
                          "daily", "--source", "otel", "--json"], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["totals"]["inputTokens"] == report["totals"]["inputTokens"]
    # costs use them: the recorded Claude Code cost, a calculated one for the others
    lines = svc.cost(period="day", by="provider", days=3650)
    assert {line.group for line in lines} >= {"anthropic", "openai", "google"}


def test_bad_otlp_gets_a_clear_4xx_and_loses_nothing_else(svc: Service, hub: str) -> None:
    ok = (FIX / "claude_code_logs.json").read_bytes()
    cases = [
        (_post(hub, "/v1/logs", b"\x0a\xff\xff\xff garbage", "application/x-protobuf"), 400, "not a valid OTLP"),
        (_post(hub, "/v1/logs", b"{not json", "application/json"), 400, "OTLP/JSON"),
        (_post(hub, "/v1/logs", b'{"resourceLogs": 5}', "application/json"), 400, "not a list"),
        (_post(hub, "/v1/logs", b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": [{}]}]}]}]}',
               "application/json"), 400, "OTLP/JSON"),
        (_post(hub, "/v1/metrics", b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": {}}]}]}]}',
               "application/json"), 400, "OTLP/JSON"),
        (_post(hub, "/v1/logs", ok, "text/plain"), 415, "unsupported content type"),
        (_post(hub, "/v1/logs", ok, "application/json", **{"content-encoding": "br"}), 415, "content encoding"),
        (_post(hub, "/v1/logs", b"\x1f\x8b garbage", "application/json", **{"content-encoding": "gzip"}), 400, "gzip"),
        (_post(hub, "/v1/metrics", b"x" * (8 * 1024 * 1024 + 1)), 413, "limit"),
        (_post(hub, "/v1/logs", gzip.compress(b" " * (9 * 1024 * 1024)), "application/json",
               **{"content-encoding": "gzip"}), 413, "uncompressed"),
        (httpx.post(hub + "/v1/logs", content=ok, headers={"content-type": "application/json"}), 401, "Bearer"),
        (_post(hub, "/v1/logs", ok, Authorization="Bearer wrong-token"), 401, "neither"),
    ]
    for r, status, words in cases:
        assert r.status_code == status, (status, r.text)
        assert words in r.json()["detail"]
        assert ADMIN not in r.text and "wrong-token" not in r.text  # no token is ever echoed
    assert _otel_events(svc) == []

    # one unreadable call in a batch: refused by name in a partial success; the rest of the batch is kept
    doc = json.loads(ok)
    bad = json.loads(json.dumps(doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][1]))
    bad["attributes"] = [a for a in bad["attributes"] if a["key"] != "model"]
    doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"].append(bad)
    r = _post(hub, "/v1/logs", json.dumps(doc).encode())
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    assert "without a model" in r.json()["partialSuccess"]["errorMessage"]
    assert len(_otel_events(svc)) == 2
    # unknown metrics are no error: ignored and counted
    unknown = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "acme.widgets", "gauge": {
        "dataPoints": [{"asInt": "3", "timeUnixNano": "1790715720000000000"}]}}]}]}]}
    r = _post(hub, "/v1/metrics", json.dumps(unknown).encode())
    assert r.status_code == 200 and svc.otlp.counts["unknown_metrics"] == 1


def _transcript_line(at: datetime, model: str, inp: int, out: int, cr: int, cw: int) -> str:
    return json.dumps({
        "type": "assistant", "sessionId": SESSION, "requestId": "req_011CVx1", "version": "2.1.39",
        "timestamp": at.isoformat().replace("+00:00", "Z"), "cwd": "/home/ada/shop",
        "message": {"id": "msg_01Hx1", "type": "message", "role": "assistant", "model": model,
                    "usage": {"input_tokens": inp, "output_tokens": out, "cache_read_input_tokens": cr,
                              "cache_creation_input_tokens": cw}}})


@pytest.mark.parametrize("otlp_first", [True, False])
def test_one_call_in_otlp_and_local_log_counts_once(svc: Service, hub: str, tmp_path: Path,
                                                    otlp_first: bool) -> None:
    doc = json.loads((FIX / "claude_code_logs.json").read_bytes())
    sent = datetime(2026, 9, 29, 21, 1, 5, 248000, tzinfo=UTC)
    root = tmp_path / "projects"
    (root / "-home-ada-shop").mkdir(parents=True)
    # the transcript stamps the message a few seconds before the request's end, and its output count is a
    # streamed copy's (smaller): still the same call
    line = _transcript_line(sent - timedelta(seconds=4), "claude-sonnet-4-5-20250929", 10, 12, 25192, 1802)
    (root / "-home-ada-shop" / f"{SESSION}.jsonl").write_text(line + "\n")

    def local() -> None:
        svc.ingest_logs(["claude_code"], {"claude_code": [str(root)]})

    def otlp() -> None:
        assert _post(hub, "/v1/logs", json.dumps(doc).encode()).status_code == 200

    for step in (otlp, local) if otlp_first else (local, otlp):
        step()
    events = svc.usage_events(since=sent - timedelta(hours=1))
    sonnet = [e for e in events if e.model == "claude-sonnet-4-5-20250929"]
    assert [(e.source, e.request_id) for e in sonnet] == [(Source.LOG, "req_011CVx1")]
    assert [e.source for e in events if e.model.startswith("claude-haiku")] == [Source.OTEL]
    svc.otlp.flush()
    report = svc.usage_report(ReportQuery(kind="daily"))
    assert report["totals"]["inputTokens"] == 10 + 1204


def test_a_seat_token_sends_otlp_as_its_seat(svc: Service) -> None:
    app = create_app(svc, admin_token=ADMIN, seat_tokens={"qws_seat-ada-0123456789": "laptop-ada"})
    body = (FIX / "codex_logs.json").read_bytes()  # its resource says host.name = laptop-grace
    with Uvicorn(app) as url:
        r = httpx.post(url + "/v1/logs", content=body, timeout=10, headers={
            "Authorization": "Bearer qws_seat-ada-0123456789", "content-type": "application/json"})
        assert r.status_code == 200, r.text
        wrong = httpx.post(url + "/v1/logs", content=body, timeout=10, headers={
            "Authorization": "Bearer qws_seat-ada-012345678X", "content-type": "application/json"})
        assert wrong.status_code == 401 and "qws_" not in wrong.text
    assert [e.host for e in _otel_events(svc)] == ["laptop-ada"]  # the seat, whatever the resource says
