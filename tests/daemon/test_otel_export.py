"""OTLP out: ``serve`` with ``[otel]`` exports every window's reading and the GenAI usage counters to a collector
stand-in (a real HTTP server on loopback), decoded here with ``opentelemetry-proto``; both databases."""

from __future__ import annotations

import gzip
import http.server
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from quotawarden.domain import QuotaSample, Source, Unit, UsageEvent
from quotawarden.errors import ConfigError
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q
from tests.daemon.conftest import Uvicorn, make_service

SECRET = "Bearer collector-secret-0123456789"


class Collector:
    """Records every OTLP/HTTP metrics export it receives (path, headers, body)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                outer.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def metrics(self) -> dict[str, list[tuple[str, float, dict[str, Any]]]]:
        """Metric name -> (kind, value, attributes) of every data point received."""
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        from quotawarden.sources.otlp import attributes

        out: dict[str, list[tuple[str, float, dict[str, Any]]]] = {}
        for _, _, body in self.got:
            req = ExportMetricsServiceRequest.FromString(body)
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        kind = m.WhichOneof("data")
                        for p in getattr(m, kind).data_points:
                            v = p.as_double if p.WhichOneof("value") == "as_double" else p.as_int
                            out.setdefault(m.name, []).append((kind, v, attributes(p.attributes)))
                        out.setdefault("units", []).append((m.name, 0, {"unit": m.unit}))
        return out


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.server.shutdown()


CONFIG = '''
[otel]
endpoint = "{url}"
headers = {{ Authorization = "{secret}" }}
interval = "1s"

[logs]
host = "hub-1"

[[accounts]]
id = "deepseek-main"
provider = "deepseek"
credential = "sk-deepseek0123456789abcdef"
base_url = "http://127.0.0.1:9"
'''


def test_serve_exports_windows_and_genai_usage(db_url: str, tmp_path: Path, collector: Collector,
                                               caplog: pytest.LogCaptureFixture) -> None:
    from quotawarden.interfaces.daemon.serve import build

    svc = make_service(db_url, tmp_path, CONFIG.format(url=collector.url, secret=SECRET))
    now = svc.now()
    samples_q.write_samples(svc.store, [QuotaSample(
        observed_at=now - timedelta(seconds=30), account_id="deepseek-main", window="balance", unit=Unit.USD,
        source=Source.PROBE, used_ratio=0.25, used=25.0, remaining=75.0, limit=100.0,
        resets_at=now + timedelta(hours=2))])
    usage_q.write_usage(svc.store, [UsageEvent(
        ts=now - timedelta(minutes=5), provider="anthropic", model="claude-sonnet-4-5", source=Source.OTEL,
        dedup_key=f"e{i}", input_tokens=100, output_tokens=40, cache_read_tokens=1000, cache_write_tokens=10,
        cost=Decimal("0.01")) for i in range(3)])
    app, _ = build(svc, "127.0.0.1", tick_s=3600)
    caplog.set_level("DEBUG")
    with Uvicorn(app):
        deadline = time.monotonic() + 10
        while not collector.got and time.monotonic() < deadline:
            time.sleep(0.05)
    svc.close()
    assert collector.got, "no export reached the collector"
    path, headers, _ = collector.got[0]
    assert path == "/v1/metrics" and headers["authorization"] == SECRET
    assert headers["content-type"] == "application/x-protobuf"
    m = collector.metrics()

    def one(name: str) -> tuple[float, dict[str, Any]]:
        _kind, value, attrs = m[name][-1]
        return value, attrs

    value, attrs = one("llm.quota.window.used_ratio")
    assert value == pytest.approx(0.25)
    assert attrs == {"llm.quota.account": "deepseek-main", "llm.quota.provider": "deepseek",
                     "gen_ai.provider.name": "deepseek", "llm.quota.window": "balance", "llm.quota.seat": "hub-1",
                     "llm.quota.provenance": "official"}
    assert one("llm.quota.window.remaining") == (75.0, {**attrs, "llm.quota.unit": "usd"})
    assert one("llm.quota.window.limit")[0] == 100.0
    assert 7000 < one("llm.quota.window.reset_seconds")[0] <= 7200
    assert one("llm.quota.window.health")[0] == 0  # GREEN
    assert all(k == "gauge" for k, _, _ in m["llm.quota.window.used_ratio"])

    value, attrs = one("gen_ai.client.inference.usage.input_tokens")
    assert value == 3 * (100 + 1000 + 10)  # cached tokens are part of the conventions' input
    assert attrs == {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
                     "gen_ai.system": "anthropic", "gen_ai.token.modality": "unknown",
                     "gen_ai.request.model": "claude-sonnet-4-5"}
    assert one("gen_ai.client.inference.usage.output_tokens")[0] == 120
    assert one("gen_ai.client.inference.usage.cache_read.input_tokens")[0] == 3000
    assert one("gen_ai.client.inference.usage.cache_write.input_tokens")[0] == 30
    assert m["gen_ai.client.inference.usage.output_tokens"][-1][0] == "sum"
    units = {name: u["unit"] for name, _, u in m["units"]}
    assert units["gen_ai.client.inference.usage.input_tokens"] == "{token}"
    assert units["llm.quota.window.reset_seconds"] == "s"
    assert "collector-secret" not in caplog.text  # the export's header is never logged


@pytest.mark.parametrize(("interval", "ok"), [("1s", True), ("2m", True), (0.5, False), ("0", False)])
def test_export_interval_is_a_second_or_more(tmp_path: Path, interval: Any, ok: bool) -> None:
    from quotawarden.config import load_config
    from quotawarden.plugins import load_plugins

    path = tmp_path / "config.toml"
    path.write_text('[otel]\nendpoint = "http://127.0.0.1:4318"\n')
    assert load_config(path, load_plugins()).settings.otel.interval == 60  # the default: a minute
    value = f'"{interval}"' if isinstance(interval, str) else interval
    path.write_text(f'[schedule]\npoll_interval = 60\n\n[otel]\nendpoint = "http://127.0.0.1:4318"\n'
                    f"interval = {value}\n")
    if ok:
        assert load_config(path, load_plugins()).settings.otel.interval >= 1
        return
    with pytest.raises(ConfigError) as err:
        load_config(path, load_plugins())
    text = str(err.value)
    assert "config.toml:6" in text and "otel.interval" in text and "1 second" in text


def test_without_otel_the_sdk_is_never_imported(tmp_path: Path) -> None:
    code = ("import sys\n"
            "from tests.daemon.conftest import make_service\n"
            "from quotawarden.interfaces.daemon.serve import build\n"
            f"svc = make_service('sqlite:///{tmp_path / 'q.db'}', __import__('pathlib').Path('{tmp_path}'))\n"
            "svc.status()\n"
            "build(svc, '127.0.0.1', tick_s=3600)\n"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
