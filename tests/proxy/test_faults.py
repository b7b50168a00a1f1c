"""Faults: dead, slow and dying upstreams, clients that leave, a store that is down, headers that make no sense."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import aiohttp
import httpx
import pytest

from quotawarden.domain import Outcome
from quotawarden.sources.proxy import PoolDef, ProxyApp, ProxyConfig, Upstream
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
        # counts survive the spill too
        wait_for(lambda: sum(c[0] for b in list(sink.batches) for c in b.outcomes.values()) == n, timeout=20)
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
    kept = list(tmp_path.glob("replay-*journal-*.jsonl"))  # the batch's journal segment, kept for replay
    assert len(kept) == 1 and kept[0].read_bytes().count(b"\n") == 1
    assert not list(tmp_path.glob("journal-*.jsonl"))
    sink.down = False
    app2 = ProxyApp(replace(ProxyConfig(), spill_dir=tmp_path), sink=sink, providers=providers)

    async def replay() -> None:
        await app2.start()
        await app2.stop()

    asyncio.run(replay())
    assert [e.consumer for e in sink.usage] == ["c"]
    assert not list(tmp_path.glob("*.jsonl"))


# -- the fault-injection suite: a real misbehaving upstream process (tests/proxy/faulty_upstream.py) ------------

POOL_KEYS = ("sk-pool-first-0123456789abcdefXYZ1", "sk-pool-second-0123456789abcdefXYZ2")
CLIENT_KEY = "sk-client-own-key-0123456789abcdef"


def _seen(up_url: str) -> dict[str, int]:
    return dict(httpx.get(f"{up_url}/_seen").json())


def _config(mode: str, up_url: str, *, dead_first: bool = False, **kw: Any) -> ProxyConfig:
    if mode == "pass":
        return ProxyConfig(provider_bases={"openai": up_url}, **kw)
    bases = (f"http://127.0.0.1:{closed_port()}" if dead_first else up_url, up_url)
    accounts = tuple(Upstream(f"acct-{i}", "openai", b, k, "team")
                     for i, (b, k) in enumerate(zip(bases, POOL_KEYS, strict=True)))
    return ProxyConfig(accounts=accounts, pools=(PoolDef("team", ()),), **kw)


def _path(mode: str) -> str:
    return "/openai/v1/chat/completions" if mode == "pass" else "/team/v1/chat/completions"


def _client_headers(fault: str) -> dict[str, str]:
    return {"authorization": f"Bearer {CLIENT_KEY}", "x-test": fault}


NO_ANSWER = {  # fault -> (status the client gets, words of the message)
    "reset": (502, "closed the connection after receiving the request"),
    "close": (502, "closed the connection after receiving the request"),
    "stall": (504, "timed out"),
    "many-headers": (502, "sent an invalid answer"),
    "huge-header": (502, "sent an invalid answer"),
    "truncated-cl": (502, "closed the connection mid-body"),
}


@pytest.mark.parametrize("mode", ["pass", "pool"])
@pytest.mark.parametrize("fault", list(NO_ANSWER))
def test_an_upstream_that_took_the_request_and_failed_is_asked_once(
        faulty: str, run_proxy: Any, sink: RecordingSink, mode: str, fault: str) -> None:
    """No answer (or a broken one) after the request was written: 502/504 with the right words, the upstream saw
    the request exactly once (never re-sent: it may have been served and billed), no account benched, and the
    next request goes through."""
    status, words = NO_ANSWER[fault]
    before = _seen(faulty).get(fault, 0)
    with run_proxy(_config(mode, faulty, upstream_timeout_s=0.5)) as (app, url), \
            httpx.Client(base_url=url, timeout=10) as client:
        t0 = time.monotonic()
        r = client.post(_path(mode), json=CHAT, headers=_client_headers(fault))
        took = time.monotonic() - t0
        assert r.status_code == status, r.text
        assert words in r.json()["error"]["message"]
        assert "unreachable" not in r.text
        assert _seen(faulty).get(fault, 0) - before == 1
        if fault == "stall":
            assert took < 1.5  # one deadline, not one per account
        assert app.stats()["blocked"] == {}
        ok = client.post(_path(mode), json=CHAT, headers=_client_headers("ok"))
        assert ok.status_code == 200
        wait_for(lambda: len(sink.usage) == 1)
        assert sum(failed for b in sink.batches for _ok, failed in b.outcomes.values()) == 1
    assert not any(s.outcome is Outcome.LIMITED for s in sink.states)
    assert CLIENT_KEY not in r.text and not any(k in r.text for k in POOL_KEYS)


@pytest.mark.parametrize("mode", ["pass", "pool"])
def test_a_truncated_stream_breaks_the_client_stream_and_is_asked_once(
        faulty: str, run_proxy: Any, sink: RecordingSink, mode: str) -> None:
    before = _seen(faulty).get("truncated", 0)
    with run_proxy(_config(mode, faulty)) as (_app, url), httpx.Client(base_url=url, timeout=10) as client:
        with pytest.raises(httpx.RemoteProtocolError), client.stream(
                "POST", _path(mode), json={**CHAT, "stream": True}, headers=_client_headers("truncated")) as r:
            assert r.status_code == 200
            b"".join(r.iter_bytes())
        assert _seen(faulty).get("truncated", 0) - before == 1
        wait_for(lambda: sum(sum(c) for b in sink.batches for c in b.outcomes.values()) == 1)
    assert sink.usage == []  # the upstream sent no usage before it died


@pytest.mark.parametrize("mode", ["pass", "pool"])
def test_a_50_mb_body_streams_through_and_its_usage_is_recorded(
        faulty: str, run_proxy: Any, sink: RecordingSink, mode: str) -> None:
    """The first megabyte reaches the client while the upstream still holds back the rest (1 s): not buffered."""
    before = _seen(faulty).get("big", 0)
    with run_proxy(_config(mode, faulty)) as (_app, url), httpx.Client(base_url=url, timeout=30) as client:
        t0 = time.monotonic()
        size, first = 0, None
        with client.stream("POST", _path(mode), json=CHAT, headers=_client_headers("big")) as r:
            assert r.status_code == 200 and r.headers["content-length"] == str(50 << 20)
            for chunk in r.iter_raw():
                if first is None:
                    first = time.monotonic() - t0
                size += len(chunk)
        assert size == 50 << 20
        assert first is not None and first < 0.9
        assert _seen(faulty).get("big", 0) - before == 1
        wait_for(lambda: len(sink.usage) == 1)
    e = sink.usage[0]
    assert (e.input_tokens, e.output_tokens, e.model) == (7, 11, "gpt-4o-mini")


def test_a_pool_key_echoed_by_the_upstream_never_reaches_the_client(faulty: str, run_proxy: Any,
                                                                    sink: RecordingSink) -> None:
    with run_proxy(_config("pool", faulty)) as (_app, url), httpx.Client(base_url=url, timeout=10) as client:
        before = _seen(faulty).get("echo-key", 0)
        before_sse = _seen(faulty).get("echo-key-sse", 0)
        r = client.post(_path("pool"), json=CHAT, headers=_client_headers("echo-key"))
        assert r.status_code == 400  # passed through (not a "not served" status), once
        assert _seen(faulty).get("echo-key", 0) - before == 1
        text = r.text + repr(r.headers.raw)
        assert not any(k in text for k in POOL_KEYS)
        assert "sk-" in r.headers["x-received-key"] and r.headers["x-received-key"].endswith(("XYZ1", "XYZ2"))
        assert "Incorrect API key provided: sk-***" in r.json()["error"]["message"]
        assert len(r.content) == int(r.headers["content-length"])
        with client.stream("POST", _path("pool"), json={**CHAT, "stream": True},
                           headers=_client_headers("echo-key-sse")) as s:
            body = b"".join(s.iter_bytes()).decode()
        assert s.status_code == 200 and body.endswith("data: [DONE]\n\n")
        assert not any(k in body for k in POOL_KEYS) and body.count("sk-***") == 3
        assert _seen(faulty).get("echo-key-sse", 0) - before_sse == 1
        # recorded: two answers, neither a failure; the stream's usage-less answer and the 400 add no usage
        wait_for(lambda: sum(sum(c) for b in sink.batches for c in b.outcomes.values()) == 2)
    assert sum(failed for b in sink.batches for _ok, failed in b.outcomes.values()) == 0
    assert sink.usage == [] and not any(s.outcome is Outcome.LIMITED for s in sink.states)
    assert not any(k in repr(sink.batches) for k in POOL_KEYS)


def test_pass_through_leaves_the_callers_own_key_alone(faulty: str, run_proxy: Any) -> None:
    before = _seen(faulty).get("echo-key", 0)
    with run_proxy(_config("pass", faulty)) as (_app, url):
        r = httpx.post(f"{url}{_path('pass')}", json=CHAT, headers=_client_headers("echo-key"))
    assert r.status_code == 400 and CLIENT_KEY in r.text  # as direct: the caller sent it
    assert _seen(faulty).get("echo-key", 0) - before == 1


def test_a_dead_pool_member_is_skipped_not_benched_for_a_rate_limit(faulty: str, run_proxy: Any,
                                                                    sink: RecordingSink) -> None:
    """Connecting failed: the request provably never left, so the next account serves it; the dead one is only
    tried last for a while, and the pool never answers its own 429 because of it."""
    with run_proxy(_config("pool", faulty, dead_first=True)) as (app, url), \
            httpx.Client(base_url=url, timeout=10) as client:
        before = _seen(faulty).get("ok", 0)
        for _ in range(4):
            r = client.post(_path("pool"), json=CHAT, headers=_client_headers("ok"))
            assert r.status_code == 200, r.text
        assert _seen(faulty).get("ok", 0) - before == 4
        assert app.stats()["blocked"]["acct-0"]["outcome"] == Outcome.UNREACHABLE.value
        wait_for(lambda: len(sink.usage) == 4)
    assert {e.account_id for e in sink.usage} == {"acct-1"}
    assert not any(s.outcome is Outcome.LIMITED for s in sink.states)


def test_a_pool_whose_every_member_is_down_answers_502_unreachable_never_429(run_proxy: Any) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    with run_proxy(_config("pool", dead)) as (_app, url), httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(3):
            r = client.post(_path("pool"), json=CHAT, headers=_client_headers("ok"))
            assert r.status_code == 502
            assert "is unreachable (connecting failed)" in r.json()["error"]["message"]


def test_a_dead_upstream_in_pass_through_is_502_unreachable_and_benches_nobody(
        faulty: str, run_proxy: Any, sink: RecordingSink) -> None:
    """Pass-through with the key of a configured account (its requests are counted under it) to an upstream that
    refuses connections: 502 "unreachable", each call counted as a failure, no usage, and the account is neither
    benched nor marked limited: its pool sends it traffic right after."""
    from quotawarden.redact import fingerprint

    dead = f"http://127.0.0.1:{closed_port()}"
    cfg = ProxyConfig(provider_bases={"openai": dead}, pools=(PoolDef("team", ()),),
                      accounts=(Upstream("own", "openai", faulty, CLIENT_KEY, "team"),),
                      known_fingerprints={fingerprint(CLIENT_KEY): "own"})
    with run_proxy(cfg) as (app, url), httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(3):
            r = client.post(_path("pass"), json=CHAT, headers=_client_headers("ok"))
            assert r.status_code == 502
            assert r.json()["error"]["message"] == ("quotawarden: upstream 127.0.0.1 is unreachable "
                                                    "(connecting failed)")
            assert CLIENT_KEY not in r.text
        assert app.stats()["blocked"] == {}
        wait_for(lambda: sum(f for b in sink.batches for _ok, f in b.outcomes.values()) == 3)
        assert {account for b in sink.batches for account, _hour in b.outcomes} == {"own"}  # counted under it
        assert sink.usage == [] and sink.states == []
        before = _seen(faulty).get("ok", 0)
        assert client.post(_path("pool"), json=CHAT, headers=_client_headers("ok")).status_code == 200
        assert _seen(faulty).get("ok", 0) - before == 1
        wait_for(lambda: len(sink.usage) == 1)
    assert [e.account_id for e in sink.usage] == ["own"]
    assert not any(s.outcome is Outcome.LIMITED for s in sink.states)


@contextmanager
def blackhole() -> Iterator[str]:
    """A loopback port whose connects time out, like a host that drops SYNs: a listening socket with a backlog of
    0 whose one queued connection is never accepted, so the kernel drops every further SYN."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):  # fill the accept queue (one connection on Linux), until a connect times out
            s = socket.socket()
            s.settimeout(0.3)
            try:
                s.connect(("127.0.0.1", port))
            except TimeoutError:
                s.close()
                break
            fillers.append(s)
        else:
            pytest.skip("this kernel accepts connections beyond a backlog of 0: cannot make a connect time out")
        yield f"http://127.0.0.1:{port}"
    finally:
        for s in fillers:
            s.close()
        listener.close()


def test_one_deadline_covers_every_account_a_request_tries(run_proxy: Any, sink: RecordingSink) -> None:
    """Three pool members whose connects time out, upstream_timeout 2 s (the connect timeout alone is 10 s): the
    client gets its 504 within about one upstream_timeout, not 3 x 2 s (nor 10 s); an unreachable member is only
    tried last for a while, never benched for a rate limit, so the next request gets a 504 again, not a 429."""
    with blackhole() as hole:
        accounts = tuple(Upstream(f"acct-{i}", "openai", hole, f"sk-pool-{i}-0123456789abcdefXYZ", "team")
                         for i in range(3))
        cfg = ProxyConfig(accounts=accounts, pools=(PoolDef("team", ()),), upstream_timeout_s=2.0)
        assert cfg.connect_timeout_s > 3 * cfg.upstream_timeout_s
        with run_proxy(cfg) as (app, url), httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(2):
                t0 = time.monotonic()
                r = client.post(_path("pool"), json=CHAT, headers=_client_headers("ok"))
                took = time.monotonic() - t0
                assert r.status_code == 504, r.text
                assert took < 4.5, took  # one upstream_timeout and some slack; 3 x 2 s would be 6 s
                message = r.json()["error"]["message"]
                assert ("is unreachable (connecting timed out)" in message
                        or "no account of 'team' answered within 2s" in message), message
            blocked = app.stats()["blocked"]
            assert blocked and {b["outcome"] for b in blocked.values()} == {Outcome.UNREACHABLE.value}
            wait_for(lambda: sum(f for b in sink.batches for _ok, f in b.outcomes.values()) >= 2)
    assert sink.usage == []
    assert not any(s.outcome is Outcome.LIMITED for s in sink.states)
