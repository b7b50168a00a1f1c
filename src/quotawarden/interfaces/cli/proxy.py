"""``quotawarden proxy``: the piggyback proxy in the foreground (uvicorn, uvloop, httptools).

Like ``serve``, it runs through ``main.FAST_PATHS`` (:func:`fast`: argparse, no typer, rich or click of its own), so
the long-running proxy keeps none of the CLI in memory; ``--help`` and anything it cannot parse go to the typer
command registered below, which ends in the same :func:`start`.
"""

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from quotawarden.interfaces.daemon import STOP_GRACE_S

if TYPE_CHECKING:
    import typer

    from quotawarden.app.service import Service

HELP = ("Run the proxy: point an agent's base URL at http://HOST:PORT/<provider-or-pool> and every call becomes "
        "quota readings and usage (see docs/readme/50-proxy.md).")
HOST_HELP = ("Address to listen on (default: the proxy.host setting, 127.0.0.1). Anything but loopback needs client "
             "tokens.")
PORT_HELP = "Port (default: the proxy.port setting, 8787)."


def start(service: Callable[[], "Service"], host: str | None, port: int | None) -> None:
    """Both routes' ``proxy``: the service (its config warnings said), the proxy built, where it listens said, run."""
    import uvicorn

    app = service().build_proxy(host, port)
    cfg = app.config
    sys.stdout.write(f"quotawarden proxy on http://{cfg.host}:{cfg.port}  routes: "
                     + ", ".join(sorted(app.router.routes)) + "\n")
    sys.stdout.flush()
    # bench/proxy_floor.py runs with these same settings, so that bench/proxy.py compares like with like
    uvicorn.run(app, host=cfg.host, port=cfg.port, loop="uvloop", http="httptools", lifespan="on",
                log_level="warning", access_log=False, server_header=False, date_header=False,
                proxy_headers=False, timeout_graceful_shutdown=STOP_GRACE_S,
                ws="none")  # HTTP only: no WebSocket code loaded


def fast(argv: list[str]) -> int:
    """``main.FAST_PATHS`` entry: the options typer would take, parsed without it; anything else goes to typer."""
    from quotawarden.interfaces.cli.long_running import launch

    return launch("proxy", argv, _parse(argv), start)


def _parse(argv: list[str]) -> dict[str, Any] | None:
    """``proxy``'s own options as typer takes them; None for anything else (typer then explains)."""
    import argparse

    p = argparse.ArgumentParser(prog="quotawarden proxy", add_help=False, allow_abbrev=False, exit_on_error=False)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    try:
        ns, rest = p.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None
    return None if rest else vars(ns)


def register(app: "typer.Typer") -> None:
    import typer

    from quotawarden.interfaces.cli.common import service

    @app.command("proxy", help=HELP)
    def proxy(
        ctx: typer.Context,
        host: str = typer.Option(None, "--host", help=HOST_HELP),
        port: int = typer.Option(None, "--port", help=PORT_HELP),
    ) -> None:
        start(lambda: service(ctx), host, port)
