"""``quotawarden serve`` and ``quotawarden jobs``.

``serve`` runs through ``main.FAST_PATHS`` (:func:`fast`: argparse, no typer, rich or click of its own), so the
long-running daemon keeps none of the CLI in memory; ``--help``, root options it does not know and anything it
cannot parse go to the typer command registered below, which ends in the same :func:`start`.
"""

import errno
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    from quotawarden.app.service import Service

HELP = "Run the daemon: HTTP API under /v1, Prometheus /metrics, scheduled polls, log ingestion, audit, pruning."
HOST_HELP = "Address to listen on (default server.host, 127.0.0.1)."
PORT_HELP = "Port (default server.port, 7878)."
TICK_HELP = "Seconds between checks for due polls."
PROXY_HELP = "Also serve the piggyback proxy under /proxy."
LOG_HELP = "uvicorn log level."
MIN_TICK_S = 0.1


def start(service: Callable[[], "Service"], host: str | None, port: int | None, tick: float, with_proxy: bool,
          log_level: str) -> None:
    """Both routes' ``serve``: the service (its config warnings said), the port checked, where to go said, run."""
    from quotawarden.interfaces.daemon.serve import serve as run

    svc = service()
    server = svc.config.settings.server
    bind, at = host or server.host, port or server.port
    _check_port(bind, at)  # before the first poll: a busy port is said at once, in one line
    _announce(bind, at, bool(server.admin_token))
    run(svc, bind, at, tick_s=tick, with_proxy=with_proxy, log_level=log_level)


def fast(argv: list[str]) -> int:
    """``main.FAST_PATHS`` entry: the options typer would take, parsed without it; anything else goes to typer."""
    from quotawarden.interfaces.cli.long_running import launch

    return launch("serve", argv, _parse(argv), start)


def _parse(argv: list[str]) -> dict[str, Any] | None:
    """``serve``'s own options as typer takes them; None for anything else (typer then explains)."""
    import argparse

    p = argparse.ArgumentParser(prog="quotawarden serve", add_help=False, allow_abbrev=False, exit_on_error=False)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--tick", type=float, default=1.0)
    p.add_argument("--with-proxy", action="store_true")
    p.add_argument("--log-level", default="info")
    try:
        ns, rest = p.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None
    if rest or ns.tick < MIN_TICK_S:
        return None
    return vars(ns)


def _announce(host: str, port: int, configured: bool) -> None:
    """Where the dashboard is and which token the API takes: its source, never the token itself."""
    from quotawarden.interfaces.daemon.serve import is_loopback, local_token_file

    if not configured and not is_loopback(host):
        return  # serve refuses to start and says why
    where = f"[{host}]" if ":" in host else host
    token = "server.admin_token" if configured else f"the token in {local_token_file()}"
    sys.stderr.write(f"dashboard http://{where}:{port}/; the API (/v1, /mcp) takes Authorization: Bearer with "
                     f"{token}\n")  # a path to copy: one line, as written
    sys.stderr.flush()


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
        from quotawarden.interfaces.cli.common import fail

        busy = "is already in use (another `quotawarden serve`?)" if exc.errno == errno.EADDRINUSE else \
            f"cannot be listened on ({exc.strerror or exc})"
        fail(f"{host}:{port} {busy}; choose another with --port or server.port in the config", EXIT_PORT_BUSY)


def jobs(ctx: "typer.Context", json_out: bool) -> None:
    """Each scheduled job's last run: when, how long, outcome, on which replica, and what it did."""
    import time

    from rich.markup import escape
    from rich.table import Table

    from quotawarden.analysis.durations import human_duration
    from quotawarden.app.daemon.runner import detail_text, detail_value
    from quotawarden.interfaces.cli.common import console, print_json, service

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
    from datetime import datetime

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
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat()


def register(app: "typer.Typer") -> None:
    import typer

    from quotawarden.interfaces.cli.common import JsonOpt, service

    @app.command("serve", help=HELP)
    def serve(
        ctx: typer.Context,
        host: str = typer.Option(None, "--host", help=HOST_HELP),
        port: int = typer.Option(None, "--port", help=PORT_HELP),
        tick: float = typer.Option(1.0, "--tick", help=TICK_HELP, min=MIN_TICK_S),
        with_proxy: bool = typer.Option(False, "--with-proxy", help=PROXY_HELP),
        log_level: str = typer.Option("info", "--log-level", help=LOG_HELP),
    ) -> None:
        start(lambda: service(ctx), host, port, tick, with_proxy, log_level)

    @app.command("jobs", help=jobs.__doc__)
    def jobs_cmd(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
        jobs(ctx, json_out)
