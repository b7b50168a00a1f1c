"""OTLP ingestion on ``serve``: Claude Code-shaped exports posted to ``/v1/logs`` and ``/v1/metrics``.

    python bench/otlp.py [--batches 20] [--batch 512] [--rounds 3] [--db URL ...]

The API runs as ``serve`` runs it (uvicorn, one worker, access log off) in a child process on a fresh store
(SQLite in a temporary folder, and each ``--db`` URL given, e.g. PostgreSQL). The client posts ``--batches``
requests of ``--batch`` records each, one at a time over a keep-alive connection, the way an agent's batch
exporter does: logs (``claude_code.api_request`` events, each a new call: a usage event stored, its hour's
roll-ups rebuilt) in protobuf and in OTLP/JSON, then metrics (``claude_code.token.usage`` data points, compared
with the events, never stored). The server's CPU time (``/proc``: the hub process only, not PostgreSQL's) gives
the rate per core; it includes the roll-up rebuild that follows the writes (at most once a second). Medians over
``--rounds``. Target: >= 10,000 data points/s per core.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ADMIN = "qwa_bench-admin-token"
TARGET = 10_000


def serve(db: str, tmp: str, sock: socket.socket) -> None:
    import uvicorn

    from quotawarden.app.service import Service
    from quotawarden.config import from_text
    from quotawarden.interfaces.api import create_app
    from quotawarden.plugins import load_plugins

    plugins = load_plugins()
    svc = Service(config=from_text(f'[server]\nkey_file = "{tmp}/secret.key"\n', None, plugins), plugins=plugins,
                  store_url=db)
    svc.store  # noqa: B018 - migrate before the clock starts
    app = create_app(svc, admin_token=ADMIN)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")).run(sockets=[sock])


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kv(key: str, value: Any) -> Any:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(int_value=value))


def logs_request(round_: int, batch: int, size: int) -> Any:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    t0 = time.time() - 3600
    records = []
    for i in range(size):
        n = batch * size + i
        ts = t0 + n * 0.05
        session = f"sess-{round_}-{n // 100}"
        records.append(LogRecord(time_unix_nano=int(ts * 1e9), body=AnyValue(string_value="claude_code.api_request"),
                                 attributes=[kv("event.name", "api_request"), kv("session.id", session),
                                             kv("event.sequence", n), kv("user.email", f"dev{n % 50}@example.com"),
                                             kv("model", "claude-sonnet-4-5-20250929"), kv("input_tokens", 10 + n),
                                             kv("output_tokens", 300), kv("cache_read_tokens", 20000 + n),
                                             kv("cache_creation_tokens", 500), kv("cost_usd", 0.0123),
                                             kv("duration_ms", 4000)]))
    resource = Resource(attributes=[kv("service.name", "claude-code"), kv("host.name", f"seat-{batch % 50}")])
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=resource, scope_logs=[
        ScopeLogs(log_records=records)])])


def metrics_request(round_: int, batch: int, size: int) -> Any:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.metrics.v1.metrics_pb2 import (
        AggregationTemporality,
        Metric,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )

    now = int(time.time() * 1e9)
    kinds = ("input", "output", "cacheRead", "cacheCreation")
    points = [NumberDataPoint(start_time_unix_nano=now - 60_000_000_000, time_unix_nano=now, as_double=100.0 + i,
                              attributes=[kv("session.id", f"msess-{round_}-{batch}-{i // 4}"),
                                          kv("model", "claude-sonnet-4-5-20250929"), kv("type", kinds[i % 4])])
              for i in range(size)]
    metric = Metric(name="claude_code.token.usage", unit="tokens", sum=Sum(
        data_points=points, is_monotonic=True,
        aggregation_temporality=AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA))
    return ExportMetricsServiceRequest(resource_metrics=[ResourceMetrics(scope_metrics=[ScopeMetrics(
        metrics=[metric])])])


def run_case(url: str, pid: int, path: str, bodies: list[bytes], ctype: str) -> dict[str, float]:
    import httpx

    lat = []
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {ADMIN}", "content-type": ctype}) as c:
        c0, w0 = cpu_s(pid), time.perf_counter()
        for body in bodies:
            t = time.perf_counter()
            r = c.post(path, content=body)
            lat.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
        wall = time.perf_counter() - w0
        time.sleep(1.5)  # the roll-ups' rebuild that follows the last write, on the server's timer
        cpu = cpu_s(pid) - c0
    lat.sort()
    return {"wall": wall, "cpu": cpu, "p50": statistics.median(lat), "p99": lat[min(len(lat) - 1,
                                                                                  int(len(lat) * 0.99))]}


def bench_db(db: str | None, batches: int, size: int, rounds: int) -> list[tuple[str, str, dict[str, float]]]:
    import orjson
    from google.protobuf import json_format

    tmp = tempfile.mkdtemp(prefix="qw-otlp-bench-")
    url_db, schema = db or f"sqlite:///{tmp}/qw.db", None
    if db and db.startswith("postgresql"):
        from store import pg_url  # bench/store.py: a throw-away schema

        url_db, schema = pg_url(db)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    proc = mp.get_context("fork").Process(target=serve, args=(url_db, tmp, sock), daemon=True)
    proc.start()
    import httpx

    for _ in range(600):
        try:
            httpx.get(url + "/v1/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    out: list[tuple[str, str, dict[str, float]]] = []
    try:
        for r in range(rounds):
            cases = (
                ("logs, protobuf", "/v1/logs", "application/x-protobuf",
                 [logs_request(r * 2, b, size).SerializeToString() for b in range(batches)]),
                ("logs, JSON", "/v1/logs", "application/json",
                 [orjson.dumps(json_format.MessageToDict(logs_request(r * 2 + 1, b, size))) for b in range(batches)]),
                ("metrics, protobuf", "/v1/metrics", "application/x-protobuf",
                 [metrics_request(r, b, size).SerializeToString() for b in range(batches)]),
            )
            store = url_db.split(":", 1)[0].split("+")[0]
            for name, path, ctype, bodies in cases:
                out.append((name, store, run_case(url, proc.pid or 0, path, bodies, ctype)))
    finally:
        proc.terminate()
        proc.join(10)
        if db and schema:
            from store import drop_pg

            drop_pg(db, schema)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--batch", type=int, default=512, help="records (or data points) per request")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--db", action="append", default=[], help="a store URL besides SQLite (repeatable)")
    a = p.parse_args()
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    for db in [None, *a.db]:
        for name, kind, res in bench_db(db, a.batches, a.batch, a.rounds):
            rows.setdefault((kind, name), []).append(res)
    points = a.batches * a.batch
    print(f"OTLP ingestion: {a.batches} requests x {a.batch} records, medians of {a.rounds} rounds "
          f"(target >= {TARGET:,} data points/s per core)\n")
    head = f"{'store':<11}{'case':<19}{'points/s wall':>14}{'points/s/core':>15}{'p50 ms':>9}{'p99 ms':>9}  target"
    print(head)
    print("-" * len(head))
    for (kind, name), res in rows.items():
        wall = statistics.median(points / r["wall"] for r in res)
        per_core = statistics.median(points / max(r["cpu"], 1e-9) for r in res)
        p50, p99 = statistics.median(r["p50"] for r in res), statistics.median(r["p99"] for r in res)
        print(f"{kind:<11}{name:<19}{wall:>14,.0f}{per_core:>15,.0f}{p50:>9.1f}{p99:>9.1f}  "
              f"{'met' if per_core >= TARGET else 'MISSED'}")


if __name__ == "__main__":
    main()
