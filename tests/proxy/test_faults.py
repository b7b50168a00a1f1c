"""Faults: dead, slow and dying upstreams, clients that leave, a store that is down, headers that make no sense."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from typing import Any

import aiohttp
import httpx
import pytest

from quotawarden.sources.proxy import ProxyApp, ProxyConfig
from quotawarden.spec import HeaderReader, ProviderSpec
from tests.proxy.conftest import RecordingSink
from tests.proxy.test_proxy_core import CHAT, wait_for

KEY = {"authorization": "Bearer sk-test-0123456789abcdef"}


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_upstream_down_gives_a_provider_format_502(run_proxy: Any) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    with run_proxy(ProxyConfig(provider_bases={"openai": dead, "anthropic": dead})) as (_, url):
        r = httpx.post(f"{url}/openai/v1/chat/completions", json=CHAT, headers=KEY)
        assert r.status_code == 502
        assert r.json()["error"]["message"].startswith("quotawarden: upstream 127.0.0.1 is unreachable")
        r = httpx.post(f"{url}/anthropic/v1/messages", json=CHAT, headers={"x-api-key": "sk-ant-x"})
        assert r.status_code == 502 and r.json()["type"] == "error"
        assert "sk-test" not in r.text


def test_upstream_timeout_gives_504(tiny: Any, run_proxy: Any) -> None:
    _, up_url = tiny
    cfg = ProxyConfig(provider_bases={"openai": up_url}, upstream_timeout_s=0.3)
    with run_proxy(cfg) as (_, url):
        r = httpx.post(f"{url}/openai/v1/chat/completions", json=CHAT, headers={**KEY, "x-test": "hang"}, timeout=10)
    assert r.status_code == 504
    assert "timed out" in r.json()["error"]["message"]


def test_upstream_closing_mid_stream_breaks_the_client_stream_too(tiny: Any, run_proxy: Any,
                                                                  sink: RecordingSink) -> None:
    _, up_url = tiny
    body = {**CHAT, "stream": True}
    with run_proxy(ProxyConfig(provider_bases={"openai": up_url})) as (_app, url):
        for target in (f"{up_url}/v1/chat/completions", f"{url}/openai/v1/chat/completions"):
            with pytest.raises(httpx.RemoteProtocolError):  # as direct: a truncated stream, not a clean end
                httpx.post(target, json=body, headers={**KEY, "x-test": "break"})
        ok = httpx.post(f"{url}/openai/v1/chat/completions", json=body, headers=KEY)
        assert ok.status_code == 200 and ok.text.endswith("data: [DONE]\n\n")


def test_client_leaving_mid_stream_cancels_the_upstream_request(tiny: Any, run_proxy: Any) -> None:
    up, up_url = tiny
    with run_proxy(ProxyConfig(provider_bases={"openai": up_url})) as (_, url):
        async def leave_early() -> None:
            async with aiohttp.ClientSession() as s, s.post(
                    f"{url}/openai/v1/chat/completions", json={**CHAT, "stream": True},
                    headers={**KEY, "x-test": "forever"}) as r:
                assert r.status == 200
                await r.content.readany()

        asyncio.run(leave_early())
        wait_for(lambda: up.cancelled >= 1, timeout=5)


class _Exploding:
    """A header reader that fails on anything odd, as a buggy plug-in might."""

    def matches(self, host: str, path: str) -> bool:
        return True

    def read(self, account_id: str, status: int, headers: Any, now: Any) -> list[Any]:
        int(headers.get("x-ratelimit-remaining-requests", "0"))
        return []


GARBAGE = [
    [(b"x-ratelimit-remaining-requests", b"lots"), (b"x-ratelimit-reset-requests", b"soon"),
     (b"x-ratelimit-reset-tokens", b"1h2x"), (b"x-ratelimit-limit-tokens", b"")],
    [(b"anthropic-ratelimit-unified-5h-utilization", b"NaN%"), (b"anthropic-ratelimit-unified-reset", b"-"),
     (b"anthropic-ratelimit-unified-7d-reset", b"99999999999999999999"), (b"retry-after", b"Wed, 99 Foo")],
    [(b"anthropic-ratelimit-requests-reset", b"yesterday"), (b"anthropic-ratelimit-tokens-remaining", b"-1e999"),
     (b"anthropic-ratelimit-input-tokens-limit", b"\xff\xfe")],
]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "claude", "groq", "mistral"])
@pytest.mark.parametrize("garbage", GARBAGE, ids=["openai-style", "unified", "anthropic-style"])
def test_malformed_rate_limit_headers_never_break_a_request(tiny: Any, run_proxy: Any, sink: RecordingSink,
                                                            providers: dict[str, ProviderSpec], provider: str,
                                                            garbage: list[tuple[bytes, bytes]]) -> None:
    if provider not in providers:
        pytest.skip(f"provider {provider!r} is not installed")
    up, up_url = tiny
    up.extra_headers = garbage
    with run_proxy(ProxyConfig(provider_bases={provider: up_url})) as (_, url):
        r = httpx.post(f"{url}/{provider}/v1/chat/completions", json=CHAT, headers=KEY)
        assert r.status_code == 200


def test_a_failing_header_reader_is_counted_not_raised(tiny: Any, run_proxy: Any, sink: RecordingSink,
                                                       providers: dict[str, ProviderSpec]) -> None:
    up, up_url = tiny
    up.extra_headers = GARBAGE[0]
    exploding: HeaderReader = _Exploding()
    specs = {**providers, "openai": ProviderSpec("openai", "OpenAI", headers=exploding)}
    with run_proxy(ProxyConfig(provider_bases={"openai": up_url}), providers=specs) as (app, url):
        for stream in (False, True):
            r = httpx.post(f"{url}/openai/v1/chat/completions", json={**CHAT, "stream": stream}, headers=KEY)
            assert r.status_code == 200
        wait_for(lambda: len(sink.usage) == 2)
        assert app.capture.header_errors == 2
        assert httpx.get(f"{url}/_quotawarden/health").json()["header_errors"] == 2


def test_answers_and_failures_are_counted_per_account_for_the_error_rate(tiny: Any, run_proxy: Any,
                                                                         sink: RecordingSink) -> None:
    """5xx, timeouts and a dead upstream count as failures; any other answer (a 429 too) as answered."""
    _, up_url = tiny
    dead = f"http://127.0.0.1:{closed_port()}"
    cfg = ProxyConfig(provider_bases={"openai": up_url, "anthropic": dead}, upstream_timeout_s=0.3)
    with run_proxy(cfg) as (_, url):
        for fault in ("", "", "", "500", "hang"):
            httpx.post(f"{url}/openai/v1/chat/completions", json=CHAT, headers={**KEY, "x-test": fault}, timeout=10)
        httpx.post(f"{url}/anthropic/v1/messages", json=CHAT, headers={"x-api-key": "sk-ant-x"})
        wait_for(lambda: sum(sum(c) for b in sink.batches for c in b.outcomes.values()) == 6)
    totals: dict[str, list[int]] = {}
    for b in sink.batches:
        for (account, _hour), (ok, failed) in b.outcomes.items():
            t = totals.setdefault(account.split("-")[1], [0, 0])
            t[0] += ok
            t[1] += failed
    assert totals == {"openai": [3, 2], "anthropic": [0, 1]}


@pytest.mark.slow
def test_store_down_during_10000_requests_loses_nothing(tiny: Any, run_proxy: Any, sink: RecordingSink) -> None:
    _, up_url = tiny
    n = 10_000
    sink.down = True
    cfg = ProxyConfig(provider_bases={"openai": up_url}, queue_size=2000)
    with run_proxy(cfg) as (app, url):
        async def blast() -> list[int]:
            sem = asyncio.Semaphore(32)
            async with aiohttp.ClientSession() as s:
                async def one(i: int) -> int:
                    async with sem, s.post(f"{url}/openai/v1/chat/completions", json=CHAT,
                                           headers={**KEY, "x-quotawarden-agent": f"agent-{i % 7}"}) as r:
                        await r.read()
                        return r.status
                return await asyncio.gather(*(one(i) for i in range(n)))

        statuses = asyncio.run(blast())
        assert statuses.count(200) == n
        wait_for(lambda: app.queue.stats.spilled >= n, timeout=20)
        assert not sink.usage
        sink.down = False
        wait_for(lambda: len({e.dedup_key for e in sink.usage}) == n, timeout=60)
        assert app.queue.stats.sink_failures > 0
        assert sum(c[0] for b in sink.batches for c in b.outcomes.values()) == n  # counts survive the spill too
    by_agent = {f"agent-{k}": 0 for k in range(7)}
    for e in {e.dedup_key: e for e in sink.usage}.values():
        by_agent[e.consumer] += 1
    assert sum(by_agent.values()) == n and min(by_agent.values()) >= n // 7
    assert not list((cfg.spill_dir or app.queue.spill_dir).glob("*.jsonl"))


def test_queue_stop_spills_what_the_store_could_not_take(tmp_path: Any, sink: RecordingSink,
                                                        providers: dict[str, ProviderSpec]) -> None:
    from quotawarden.sources.proxy.dialects import UsageReader

    sink.down = True
    app = ProxyApp(replace(ProxyConfig(), spill_dir=tmp_path), sink=sink, providers=providers)

    async def run() -> None:
        await app.start()
        reader = UsageReader("openai")
        reader.feed({"model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 1}})
        app.capture.usage(reader, provider="openai", account_id="a", consumer="c", project=None, pool=None,
                          model_hint="", now=app.clock.now())
        await app.stop()

    asyncio.run(run())
    assert (tmp_path / "spill.jsonl").read_bytes().count(b"\n") == 1
    sink.down = False
    app2 = ProxyApp(replace(ProxyConfig(), spill_dir=tmp_path), sink=sink, providers=providers)

    async def replay() -> None:
        await app2.start()
        await app2.stop()

    asyncio.run(replay())
    assert [e.consumer for e in sink.usage] == ["c"]
    assert not list(tmp_path.glob("*.jsonl"))
