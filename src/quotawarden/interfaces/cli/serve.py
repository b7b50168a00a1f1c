"""``quotawarden serve`` and ``quotawarden jobs``."""

from __future__ import annotations

import errno
import time
from datetime import UTC, datetime
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from quotawarden.interfaces.cli.common import JsonOpt, console, err_console, fail, print_json, service


def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, "--host", help="Address to listen on (default server.host, 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port (default server.port, 7878)."),
    tick: float = typer.Option(1.0, "--tick", help="Seconds between checks for due polls.", min=0.1),
    with_proxy: bool = typer.Option(False, "--with-proxy", help="Also serve the piggyback proxy under /proxy."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Run the daemon: HTTP API under /v1, Prometheus /metrics, scheduled polls, log ingestion, audit, pruning."""
    from quotawarden.interfaces.daemon.serve import serve as run

    svc = service(ctx)
    server = svc.config.settings.server
    host, port = host or server.host, port or server.port
    _check_port(host, port)  # before the first poll: a busy port is said at once, in one line
    _announce(host, port, bool(server.admin_token))
    run(svc, host, port, tick_s=tick, with_proxy=with_proxy, log_level=log_level)


def _announce(host: str, port: int, configured: bool) -> None:
    """Where the dashboard is and which token the API takes: its source, never the token itself."""
    from quotawarden.interfaces.daemon.serve import is_loopback, local_token_file

    if not configured and not is_loopback(host):
        return  # serve refuses to start and says why
    where = f"[{host}]" if ":" in host else host
    token = "server.admin_token" if configured else f"the token in {local_token_file()}"
    err_console().print(f"dashboard http://{where}:{port}/; the API (/v1, /mcp) takes Authorization: Bearer with "
                        f"{token}", markup=False, highlight=False, soft_wrap=True)  # a path to copy: one line


EXIT_PORT_BUSY = 1
"""``serve`` on a port it cannot listen on: the operation failed (3 is ``switch``'s)."""


def _check_port(host: str, port: int) -> None:
    import socket

    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
            sock.bind(addr)
    except OSError as exc:
        busy = "is already in use (another `quotawarden serve`?)" if exc.errno == errno.EADDRINUSE else \
            f"cannot be listened on ({exc.strerror or exc})"
        fail(f"{host}:{port} {busy}; choose another with --port or server.port in the config", EXIT_PORT_BUSY)


def jobs(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Each scheduled job's last run: when, how long, outcome, on which replica, and what it did."""
    from quotawarden.analysis.durations import human_duration
    from quotawarden.app.daemon.runner import detail_text, detail_value

    runs = service(ctx).last_job_runs()
    rows: list[dict[str, Any]] = [{"job": r.job, "host": r.host, "started_at": _iso(r.started_ts),
             "duration_s": None if r.finished_ts is None else round(r.finished_ts - r.started_ts, 3),
             "outcome": r.outcome or "running", "detail": detail_value(r.detail)} for r in runs]
    if json_out:
        print_json(rows)
        return
    if not rows:
        console().print("No job has run yet: start the daemon with `quotawarden serve`.")
        return
    table = Table(title="scheduled jobs", title_justify="left")
    for col in ("job", "last run", "took", "outcome", "replica"):
        table.add_column(col, no_wrap=True)
    table.add_column("detail", overflow="fold")
    for r, run in zip(rows, runs, strict=True):
        ago = time.time() - datetime.fromisoformat(r["started_at"]).timestamp()
        took = "-" if r["duration_s"] is None else f"{r['duration_s']:.2f}s"
        table.add_row(r["job"], f"{human_duration(ago, signed=True)} ago", took,
                      r["outcome"], r["host"] or "", escape(detail_text(run.detail)[:300]))
    console().print(table)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("jobs")(jobs)
