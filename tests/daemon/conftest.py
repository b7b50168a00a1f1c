"""Daemon fixtures: a service on either database, the API on a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from quotawarden.app.service import Service
from quotawarden.config import from_text
from quotawarden.plugins import load_plugins

ADMIN = "qwa_test-admin-token-0123456789"
DEEPSEEK_KEY = "sk-deepseekkey0123456789abcdef"


def make_service(db_url: str, tmp: Path, config: str = "") -> Service:
    plugins = load_plugins()
    text = f'[server]\nkey_file = "{tmp / "secret.key"}"\n' + config
    return Service(config=from_text(text, None, plugins), plugins=plugins, store_url=db_url)


class Uvicorn:
    """An ASGI app on a free loopback port, in a thread, lifespan on."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
                                       daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self.url
            threading.Event().wait(0.01)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[Service]:
    s = make_service(db_url, tmp_path)
    yield s
    s.close()


@pytest.fixture
def app(svc: Service) -> Any:
    from quotawarden.interfaces.api import create_app

    return create_app(svc, admin_token=ADMIN)


@pytest.fixture
def client(app: Any) -> Iterator[httpx.Client]:
    with Uvicorn(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        yield c


def register(client: httpx.Client, key: str = DEEPSEEK_KEY, framework: str = "opencode",
             project: str = "my-project", **extra: Any) -> dict[str, Any]:
    body = {"project_name": project, "framework": framework,
            "auth": {"opencode_auth": {"deepseek-coding-plan": {"key": key}}}, **extra}
    r = client.post("/v1/instances", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]
