"""Run an ASGI app on a free 127.0.0.1 port in a background thread: tests, the demo and benchmarks use it.

    with serve(create_app(scenario, clock)) as base_url:
        httpx.get(base_url + "/v1/models", headers={"authorization": "Bearer sk-..."})

Real loopback HTTP (uvicorn), not an in-process transport, so clients, SDKs and timeouts behave as they
would against the provider.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class BackgroundServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1, backlog=4096, timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=f"emulator:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self, timeout: float = 10.0) -> str:
        self.thread.start()
        for _ in range(int(timeout / 0.01)):
            if self.server.started:
                return self.base_url
            if not self.thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError(f"server on {self.base_url} did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


@contextmanager
def serve(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (0 = a free port) for the duration of the block; yields the base URL."""
    server = BackgroundServer(app, host, port)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()
