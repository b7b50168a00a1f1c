"""``quotawarden proxy``: the piggyback proxy in the foreground (uvicorn, uvloop, httptools)."""

from __future__ import annotations

import typer

from quotawarden.interfaces.cli.common import console, service
from quotawarden.interfaces.daemon import STOP_GRACE_S


def proxy(
    ctx: typer.Context,
    host: str = typer.Option(None, "--host", help="Address to listen on (default: the proxy.host setting, 127.0.0.1). "
                             "Anything but loopback needs client tokens."),
    port: int = typer.Option(None, "--port", help="Port (default: the proxy.port setting, 8787)."),
) -> None:
    """Run the proxy: point an agent's base URL at http://HOST:PORT/<provider-or-pool> and every call becomes
    quota readings and usage (see docs/readme/50-proxy.md)."""
    import uvicorn

    app = service(ctx).build_proxy(host, port)
    cfg = app.config
    console().print(f"quotawarden proxy on http://{cfg.host}:{cfg.port}  routes: "
                    + ", ".join(sorted(app.router.routes)))
    # bench/proxy_floor.py runs with these same settings, so that bench/proxy.py compares like with like
    uvicorn.run(app, host=cfg.host, port=cfg.port, loop="uvloop", http="httptools", lifespan="on",
                log_level="warning", access_log=False, server_header=False, date_header=False,
                proxy_headers=False, timeout_graceful_shutdown=STOP_GRACE_S,
                ws="none")  # HTTP only: no WebSocket code loaded


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)
