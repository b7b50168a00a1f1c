"""Fixtures for the actions stage: a real webhook sink and a real SMTP server on 127.0.0.1, a service factory."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.plugins import Plugins
from quotawarden.spec import ProviderSpec

PROVIDERS = ("anthropic", "openai", "zai")


def test_plugins() -> Plugins:
    """Plain provider specs: the actions stage only needs slugs."""
    return Plugins(providers={p: ProviderSpec(slug=p, display_name=p, needs_credential=False) for p in PROVIDERS})


@dataclass
class WebhookSink:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200

    def wait(self, n: int, timeout: float = 5) -> list[dict[str, Any]]:
        end = time.monotonic() + timeout
        while len(self.requests) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.requests


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    sink = WebhookSink(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            sink.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(sink.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sink
    server.shutdown()
    server.server_close()


@dataclass
class SmtpSink:
    port: int
    messages: list[Any] = field(default_factory=list)

    def wait(self, n: int, timeout: float = 5) -> list[Any]:
        end = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    sink = SmtpSink(port)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            sink.messages.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield sink
    controller.stop()


ACCOUNTS = """
[[accounts]]
id = "work-claude"
provider = "anthropic"
label = "Work Claude"
tags = { team = "platform" }

[[accounts]]
id = "side-openai"
provider = "openai"
"""


@pytest.fixture
def make_service(db_url: str, clock: FixedClock) -> Iterator[Callable[[str], Service]]:
    made: list[Service] = []

    def make(extra_toml: str = "") -> Service:
        config = from_text(ACCOUNTS + "\n" + extra_toml, None, test_plugins())
        svc = Service(config=config, plugins=test_plugins(), clock=clock, store_url=db_url)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.close()
