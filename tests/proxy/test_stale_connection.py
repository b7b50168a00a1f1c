"""An upstream that drops idle keep-alive connections sooner than the proxy's pool does not turn requests into
"unreachable": a pooled connection the upstream already closed is replaced before the request is written on it.
One closed at the very moment the request goes out cannot be told from an upstream that took the request and
died, so that one is answered 502 and not re-sent (a POST may have been served and billed)."""

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


def test_connections_an_upstream_closes_early_are_replaced_and_a_race_is_answered_honestly(
        short_keepalive_upstream: str, run_proxy: Any) -> None:
    from quotawarden.sources.proxy.model import ProxyConfig

    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    with run_proxy(ProxyConfig(provider_bases={"openai": short_keepalive_upstream})) as (_app, url), \
            httpx.Client(base_url=url, timeout=10) as client:
        # pauses around the upstream's 1 s keep-alive: some requests meet a connection it is closing
        ok = 0
        for i in range(6):
            r = client.post("/openai/v1/chat/completions", json=body, headers=headers)
            if r.status_code != 200:  # closed just as the request went out: said so, not re-sent
                assert r.status_code == 502, (i, r.text)
                assert "closed the connection after receiving the request" in r.text
            ok += r.status_code == 200
            threading.Event().wait(0.97 + 0.01 * i)
        assert ok >= 4


def test_a_pooled_connection_the_upstream_closed_is_dropped_before_the_request_is_written(faulty: str) -> None:
    """The upstream closed an idle connection and the event loop has not noticed yet (it was busy): the request
    goes out on a fresh connection instead, so it is neither lost nor sent twice."""
    import time

    from quotawarden.sources.proxy.upstream import Connector, open_session

    async def run() -> tuple[list[int], int]:
        session = open_session(5, 5)
        try:
            statuses = []
            for _ in range(2):
                async with session.post(f"{faulty}/v1/chat/completions", json={"model": "m"},
                                        headers={"x-test": "idle-close"}) as r:
                    await r.read()
                    statuses.append(r.status)
                time.sleep(0.3)  # blocks the loop: the upstream's FIN waits unread in the socket
            assert isinstance(session.connector, Connector)
            return statuses, session.connector.stale_dropped
        finally:
            await session.close()

    before = httpx.get(f"{faulty}/_seen").json().get("idle-close", 0)
    statuses, dropped = asyncio.run(run())
    assert statuses == [200, 200] and dropped == 1
    assert httpx.get(f"{faulty}/_seen").json()["idle-close"] - before == 2
