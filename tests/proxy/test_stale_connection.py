"""An upstream that drops idle keep-alive connections sooner than the proxy's pool (uvicorn: 5 s) does not turn
requests into "unreachable": closed pooled connections are replaced, and one closed in flight is retried once."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from quotawarden.emulator import EmuAccount, Scenario, create_app

KEY = "sk-proj-" + "s" * 40


@pytest.fixture
def short_keepalive_upstream() -> Iterator[str]:
    import uvicorn

    app = create_app(Scenario(accounts=[EmuAccount("s", "openai", KEY, limits={"requests": 100})]))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=1))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(5)
    sock.close()


def test_a_stale_pooled_connection_is_retried_once(short_keepalive_upstream: str, run_proxy: Any) -> None:
    from quotawarden.sources.proxy.model import ProxyConfig

    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    with run_proxy(ProxyConfig(provider_bases={"openai": short_keepalive_upstream})) as (_app, url), \
            httpx.Client(base_url=url, timeout=10) as client:
        # pauses around the upstream's 1 s keep-alive: some requests meet a connection it is closing
        for i in range(6):
            r = client.post("/openai/v1/chat/completions", json=body, headers=headers)
            assert r.status_code == 200, (i, r.text)
            threading.Event().wait(0.97 + 0.01 * i)
