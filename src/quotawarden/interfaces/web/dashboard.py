"""Mount the dashboard on a FastAPI app, or serve it on its own (``quotawarden demo``, tests).

``mount(app, service)`` adds the pages at ``/`` and the bundled assets at ``/static/qw``; the daemon calls it in
``create_app``. ``DashboardServer`` runs uvicorn in a background thread and reports the URL it bound.
"""

from __future__ import annotations

import threading
import time
from importlib.resources import files
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from quotawarden.interfaces.web import errors
from quotawarden.interfaces.web.pages import STATIC_PREFIX, make_router

if TYPE_CHECKING:
    from quotawarden.app.service import Service


def mount(app: FastAPI, service: Service) -> None:
    router = make_router(service)
    app.include_router(router)
    errors.install(app, service, {getattr(r, "endpoint", None) for r in router.routes} - {None})
    app.mount(STATIC_PREFIX, StaticFiles(directory=str(files("quotawarden.interfaces.web") / "static")),
              name="qw-static")


def create_app(service: Service) -> FastAPI:
    """A stand-alone app with the dashboard only (the daemon's app adds the API beside it)."""
    app = FastAPI(title="quotawarden dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    mount(app, service)
    return app


class DashboardServer:
    """``with DashboardServer(service, port=0) as url: ...``: serve in a thread; ``port=0`` picks a free port."""

    def __init__(self, service: Service, host: str = "127.0.0.1", port: int = 0, app: FastAPI | None = None) -> None:
        import uvicorn

        self.config = uvicorn.Config(app or create_app(service), host=host, port=port, log_level="warning",
                                     lifespan="auto", access_log=False)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="qw-dashboard", daemon=True)
        self.url = ""

    def start(self, timeout: float = 15.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the dashboard did not start on {self.config.host}:{self.config.port}")
            time.sleep(0.02)
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(service: Service, host: str = "127.0.0.1", port: int = 7878) -> None:
    """Serve the dashboard in the foreground until interrupted."""
    import uvicorn

    uvicorn.run(create_app(service), host=host, port=port, log_level="warning")
