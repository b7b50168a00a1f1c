"""``quotawarden demo``: the whole job on the embedded default, with no network and no keys.

Starts the provider emulator on a free loopback port, writes a throw-away config (a dozen accounts over several
providers, credentials as ``file:`` references) and a SQLite store in a temporary folder, collects one round and
shows the status table. Without ``--once`` it keeps collecting and serves the dashboard and API until Ctrl-C.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from quotawarden.interfaces.cli.common import JsonOpt, err_console, print_json
from quotawarden.interfaces.views import status_text
from quotawarden.interfaces.views.table import Ink, terminal_width

if TYPE_CHECKING:
    from quotawarden.app.service import Service


def _collect(svc: Service) -> None:
    svc.poll(force=True)
    steps: tuple[tuple[str, Callable[[], object]], ...] = (
        ("ingest_logs", svc.ingest_logs), ("evaluate_alerts", svc.evaluate_alerts))
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # the demo shows what it can; one stage failing is reported
            err_console().print(f"demo: {name} failed: {exc}", style="yellow", markup=False)


def demo(
    once: bool = typer.Option(False, "--once", help="Collect one round, print the status and exit."),
    json_out: bool = JsonOpt,
    port: int = typer.Option(7878, "--port", help="Dashboard/API port when not --once (0 = any free port)."),
    interval: float = typer.Option(30.0, "--interval", help="Seconds between collection rounds."),
    keep: Path = typer.Option(None, "--keep", help="Keep the config, keys and database in this folder."),
) -> None:
    """Run quotawarden against the built-in provider emulator: no network, no keys, nothing to set up."""
    from quotawarden.app.service import build_service
    from quotawarden.emulator import create_app, demo_scenario, serve, write_demo_config

    with ExitStack() as stack:
        folder = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="quotawarden-demo-")))
        folder.mkdir(parents=True, exist_ok=True)
        scenario = demo_scenario()
        base_url = stack.enter_context(serve(create_app(scenario)))
        config = write_demo_config(scenario, base_url, folder, db_url=f"sqlite:///{folder / 'demo.db'}")
        svc = build_service(config)
        stack.callback(svc.close)
        if not json_out:
            err_console().print(f"emulator at {base_url}\nconfig {config}", soft_wrap=True)  # a path is never split
        _collect(svc)
        report = svc.status_report()
        if json_out:
            print_json(report)
        else:
            ink = Ink.for_stream()
            sys.stdout.write("\n".join([*status_text.table(report, svc.now(), terminal_width(), ink),
                                        status_text.overall(report, ink)]) + "\n")
        if once:
            return
        _serve_forever(svc, port, interval)


def _serve_forever(svc: Service, port: int, interval: float) -> None:
    import uvicorn

    from quotawarden.interfaces.api.app import create_app

    stop = threading.Event()

    def rounds() -> None:
        while not stop.wait(interval):
            try:
                _collect(svc)
            except Exception as exc:
                err_console().print(f"demo: collection failed: {exc}", style="yellow", markup=False)

    threading.Thread(target=rounds, name="demo-collector", daemon=True).start()
    err_console().print(f"dashboard and API on http://127.0.0.1:{port}/ (collecting every {interval:g}s; "
                        "Ctrl-C to stop)")
    try:
        uvicorn.run(create_app(svc), host="127.0.0.1", port=port, log_level="warning")
    finally:
        stop.set()
        time.sleep(0)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
