"""Proxy fixtures: real uvicorn servers on 127.0.0.1 (each in its own thread and loop) and a recording sink."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from quotawarden.errors import StoreError
from quotawarden.plugins import load_plugins
from quotawarden.sources.proxy import Batch, ProxyApp, ProxyConfig
from quotawarden.spec import ProviderSpec
from tests.proxy.upstream import TinyUpstream


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, loop="uvloop", http="httptools", log_level="critical", lifespan="auto",
                            server_header=False, date_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("server did not start")
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class RecordingSink:
    """Keeps every batch; ``down`` makes it fail like a store that is unreachable."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.down = False
        self.lock = threading.Lock()

    def __call__(self, batch: Batch) -> None:
        if self.down:
            raise StoreError("database is down")
        with self.lock:
            self.batches.append(batch)

    @property
    def usage(self) -> list[Any]:
        return [e for b in self.batches for e in b.usage]

    @property
    def samples(self) -> list[Any]:
        return [s for b in self.batches for s in b.samples]

    @property
    def states(self) -> list[Any]:
        return [s for b in self.batches for s in b.states]

    @property
    def observed(self) -> list[Any]:
        return [s for b in self.batches for s in b.observed]


@pytest.fixture(scope="session")
def providers() -> dict[str, ProviderSpec]:
    return dict(load_plugins().providers)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def tiny() -> Iterator[tuple[TinyUpstream, str]]:
    up = TinyUpstream()
    with serve(up) as url:
        yield up, url


@pytest.fixture(scope="module")
def faulty() -> Iterator[str]:
    """``tests/proxy/faulty_upstream.py`` as a process of its own on a free loopback port; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "tests.proxy.faulty_upstream", str(port)], cwd=root,
                            stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(5)


ProxyFactory = Callable[..., Any]


@pytest.fixture
def run_proxy(tmp_path: Path, sink: RecordingSink, providers: dict[str, ProviderSpec]) -> Iterator[ProxyFactory]:
    """``with run_proxy(config) as (app, url):`` a proxy on a real port, its spill folder under tmp_path."""

    @contextmanager
    def factory(config: ProxyConfig, **kw: Any) -> Iterator[tuple[ProxyApp, str]]:
        from dataclasses import replace

        cfg = replace(config, spill_dir=config.spill_dir or tmp_path / "spill", flush_interval_s=0.05)
        app = ProxyApp(cfg, sink=kw.pop("sink", sink), providers=kw.pop("providers", providers), **kw)
        with serve(app) as url:
            yield app, url

    yield factory
