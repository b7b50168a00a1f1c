"""Routing, pass-through, pool mode, usage capture and budgets against a tiny local upstream."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from quotawarden.redact import fingerprint
from quotawarden.sources.proxy import Budget, ClientToken, PoolDef, ProxyConfig, Upstream
from tests.proxy.conftest import RecordingSink

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def wait_for(cond: Any, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_pass_through_forwards_the_callers_key_and_files_usage_under_an_observed_account(
        tiny: Any, run_proxy: Any, sink: RecordingSink) -> None:
    up, up_url = tiny
    cfg = ProxyConfig(provider_bases={"openai": up_url})
    with run_proxy(cfg) as (_, url):
        headers = {"authorization": "Bearer sk-mine-0123456789abcdef", "x-quotawarden-agent": "claude-code",
                   "x-quotawarden-project": "billing"}
        via = httpx.post(f"{url}/openai/v1/chat/completions", json=CHAT, headers=headers)
        direct = httpx.post(f"{up_url}/v1/chat/completions", json=CHAT, headers=headers)
        assert via.status_code == 200
        assert via.content == direct.content
        assert [h for h in via.headers.items() if h[0].startswith("x-")] == \
            [h for h in direct.headers.items() if h[0].startswith("x-")]
        wait_for(lambda: sink.usage)
    seen = up.seen[0]["headers"]
    assert seen["authorization"] == "Bearer sk-mine-0123456789abcdef"
    assert not any(k.startswith("x-quotawarden") for k in seen)
    event = sink.usage[0]
    assert (event.consumer, event.project, event.model) == ("claude-code", "billing", "gpt-4o-mini")
    assert (event.input_tokens, event.output_tokens) == (12, 5)
    fp = fingerprint("sk-mine-0123456789abcdef")
    assert sink.observed[0].fingerprint == fp
    assert event.account_id == sink.observed[0].account_id


def test_a_known_key_is_filed_under_its_account(tiny: Any, run_proxy: Any, sink: RecordingSink) -> None:
    _, up_url = tiny
    cfg = ProxyConfig(provider_bases={"openai": up_url},
                      known_fingerprints={fingerprint("sk-team-0123456789abcd"): "team-openai"})
    with run_proxy(cfg) as (_, url):
        r = httpx.post(f"{url}/openai/v1/chat/completions", json=CHAT,
                       headers={"authorization": "Bearer sk-team-0123456789abcd"})
        assert r.status_code == 200
        wait_for(lambda: sink.usage)
    assert sink.usage[0].account_id == "team-openai"
    assert not sink.observed


def test_stream_usage_is_requested_and_the_extra_chunk_hidden(tiny: Any, run_proxy: Any,
                                                             sink: RecordingSink) -> None:
    up, up_url = tiny
    with run_proxy(ProxyConfig(provider_bases={"openai": up_url})) as (_, url):
        body = {**CHAT, "stream": True}
        via = httpx.post(f"{url}/openai/v1/chat/completions", json=body, headers={"authorization": "Bearer sk-x"})
        direct = httpx.post(f"{up_url}/v1/chat/completions", json=body, headers={"authorization": "Bearer sk-x"})
        assert via.content == direct.content
        assert b"usage" not in via.content
        wait_for(lambda: sink.usage)
    assert orjson.loads(up.seen[0]["body"])["stream_options"] == {"include_usage": True}
    assert (sink.usage[0].input_tokens, sink.usage[0].output_tokens) == (12, 3)


def test_a_client_that_asked_for_usage_keeps_it(tiny: Any, run_proxy: Any, sink: RecordingSink) -> None:
    _, up_url = tiny
    with run_proxy(ProxyConfig(provider_bases={"openai": up_url})) as (_, url):
        body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        via = httpx.post(f"{url}/openai/v1/chat/completions", json=body, headers={"authorization": "Bearer sk-x"})
        direct = httpx.post(f"{up_url}/v1/chat/completions", json=body, headers={"authorization": "Bearer sk-x"})
        assert via.content == direct.content
        assert b'"choices":[],"usage"' in via.content
        wait_for(lambda: sink.usage)


def pool(up_url: str, keys: list[str]) -> ProxyConfig:
    accounts = tuple(Upstream(f"acct-{i}", "openai", up_url, k, "team") for i, k in enumerate(keys))
    return ProxyConfig(accounts=accounts, pools=(PoolDef("team", ()),),
                       client_tokens=(ClientToken("qw-alice-token", "alice", "web", ()),))


def test_failover_first_key_429_client_sees_one_success_and_the_key_is_skipped_until_reset(
        tiny: Any, run_proxy: Any, sink: RecordingSink) -> None:
    up, up_url = tiny
    moves: list[tuple[str, str, str, dict[str, Any]]] = []
    with run_proxy(pool(up_url, ["k-429", "k-good-1", "k-good-2"]), ranker=lambda ids, latest, now: list(ids),
                   on_action=lambda *move: moves.append(move)) as (app, url):
        r = httpx.post(f"{url}/team/v1/chat/completions", json=CHAT,
                       headers={"authorization": "Bearer qw-alice-token"})
        assert r.status_code == 200
        keys = [s["headers"]["authorization"] for s in up.seen]
        assert keys == ["Bearer k-429", "Bearer k-good-1"]
        for _ in range(4):
            assert httpx.post(f"{url}/team/v1/chat/completions", json=CHAT,
                              headers={"authorization": "Bearer qw-alice-token"}).status_code == 200
        assert "Bearer k-429" not in [s["headers"]["authorization"] for s in up.seen[2:]]
        assert not any("qw-alice-token" in str(s["headers"]) for s in up.seen)
        block = app.pools.blocked["acct-0"]
        assert 25 <= (block.until - app.clock.now()).total_seconds() <= 31  # Retry-After: 30
        wait_for(lambda: sink.states and len(sink.usage) == 5)
    assert sink.states[0].account_id == "acct-0" and sink.states[0].outcome.value == "THROTTLED"
    assert {e.consumer for e in sink.usage} == {"alice"}
    assert {e.account_id for e in sink.usage} == {"acct-1"}
    (move,) = moves  # one move, reported for the audit trail and the channels
    assert move[:3] == ("rotate_keys", "pool:team", "acct-0 answered 429: team moved to acct-1")
    assert move[3]["from"] == "acct-0" and move[3]["to"] == "acct-1" and move[3]["status"] == 429


@pytest.mark.parametrize("mode", ["ask", "off"])
def test_with_rotation_not_on_auto_the_pool_stays_on_its_first_account(tiny: Any, run_proxy: Any, mode: str) -> None:
    """``[autonomy] rotate_keys`` ask/off: the provider's 429 reaches the client; ask proposes the move once."""
    up, up_url = tiny
    moves: list[tuple[str, str, str, dict[str, Any]]] = []
    cfg = replace(pool(up_url, ["k-429", "k-good-1"]), rotation=mode)
    with run_proxy(cfg, on_action=lambda *move: moves.append(move)) as (_, url):
        for _ in range(3):
            r = httpx.post(f"{url}/team/v1/chat/completions", json=CHAT,
                           headers={"authorization": "Bearer qw-alice-token"})
            assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    assert [s["headers"]["authorization"] for s in up.seen] == ["Bearer k-429"] * 3
    expected = [("rotate_keys", "pool:team", "acct-0 answered 429: move team to acct-1")] if mode == "ask" else []
    assert [m[:3] for m in moves] == expected


def test_pool_round_robins_among_equals(tiny: Any, run_proxy: Any) -> None:
    up, up_url = tiny
    with run_proxy(pool(up_url, ["k-a", "k-b", "k-c"])) as (_, url):
        for _ in range(6):
            httpx.post(f"{url}/team/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer qw-alice-token"})
    used = [s["headers"]["authorization"] for s in up.seen]
    assert {used.count(k) for k in ("Bearer k-a", "Bearer k-b", "Bearer k-c")} == {2}


def test_every_key_limited_answers_429_with_retry_after(tiny: Any, run_proxy: Any) -> None:
    _, up_url = tiny
    with run_proxy(pool(up_url, ["k-429", "k-429"])) as (_, url):
        first = httpx.post(f"{url}/team/v1/chat/completions", json=CHAT,
                           headers={"authorization": "Bearer qw-alice-token"})
        assert first.status_code == 429  # the last account's own answer, passed through
        again = httpx.post(f"{url}/team/v1/chat/completions", json=CHAT,
                           headers={"authorization": "Bearer qw-alice-token"})
        assert again.status_code == 429
        assert int(again.headers["retry-after"]) > 20
        assert again.json()["error"]["code"] == "rate_limit_exceeded"


def test_client_tokens_are_required_once_configured(tiny: Any, run_proxy: Any) -> None:
    _, up_url = tiny
    with run_proxy(pool(up_url, ["k-a"])) as (_, url):
        r = httpx.post(f"{url}/team/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer nope"})
        assert r.status_code == 401
        assert r.json()["error"]["message"].startswith("quotawarden: a client token is required")
        assert "nope" not in r.text


def test_unknown_route_and_unconfigured_host(tiny: Any, run_proxy: Any) -> None:
    up, up_url = tiny
    with run_proxy(ProxyConfig(provider_bases={"openai": up_url})) as (_, url):
        r = httpx.get(f"{url}/nosuchpool/v1/models")
        assert r.status_code == 404 and "no pool or provider" in r.text
        # the path can never name a host: it is appended to a configured base
        httpx.get(f"{url}/openai/@evil.example/v1/models", headers={"authorization": "Bearer sk-x"})
    assert up.seen[-1]["path"] == "/@evil.example/v1/models"  # reached the configured upstream, nothing else


def budget_pool(up_url: str, route: str, provider: str) -> ProxyConfig:
    return ProxyConfig(accounts=(Upstream("a1", provider, up_url, "k-good", route),), pools=(PoolDef(route, ()),),
                       client_tokens=(ClientToken("qw-alice-token", "alice", None, ()),),
                       budgets=(Budget("alice-daily", "consumer", "alice", daily_usd=Decimal("0.01"), hard=True),))


def test_spend_through_the_proxy_counts_toward_a_hard_budget(tiny: Any, run_proxy: Any,
                                                             sink: RecordingSink) -> None:
    up, up_url = tiny
    with run_proxy(budget_pool(up_url, "team", "openai"), pricer=lambda e: Decimal("0.02")) as (_, url):
        ok = httpx.post(f"{url}/team/v1/chat/completions", json=CHAT,
                        headers={"authorization": "Bearer qw-alice-token"})
        assert ok.status_code == 200
        wait_for(lambda: sink.usage)
        over = httpx.post(f"{url}/team/v1/chat/completions", json=CHAT,
                          headers={"authorization": "Bearer qw-alice-token"})
    assert over.status_code == 429
    assert over.headers["x-should-retry"] == "false"
    assert over.json()["error"]["code"] == "budget_exceeded"
    assert "alice-daily" in over.json()["error"]["message"]
    assert len(up.seen) == 1
    assert sink.usage[0].cost == Decimal("0.02")


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_consumer_over_hard_budget_gets_the_providers_own_429(tiny: Any, run_proxy: Any, provider: str) -> None:
    up, up_url = tiny
    spent = (Decimal("0.05"), Decimal("0.05"))  # already stored today, read once at start
    with run_proxy(budget_pool(up_url, "pool", provider), spend=lambda b, now: spent) as (_, url):
        over = httpx.post(f"{url}/pool/v1/anything", json=CHAT, headers={"authorization": "Bearer qw-alice-token"})
    assert over.status_code == 429 and not up.seen
    body = over.json()
    if provider == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    elif provider == "gemini":
        assert body["error"]["status"] == "RESOURCE_EXHAUSTED" and body["error"]["code"] == 429
    else:
        assert body["error"]["type"] == "insufficient_quota"
    assert "daily budget 'alice-daily'" in str(body)


@pytest.mark.parametrize(("consumer", "busiest"), [("hog", 1), ("alice", 4)])
def test_a_throttled_consumer_gets_one_call_at_a_time(tiny: Any, run_proxy: Any, consumer: str, busiest: int) -> None:
    """Consumers held back by ``throttle_consumers`` wait for their previous call; everyone else runs in parallel."""
    import asyncio

    import aiohttp

    up, up_url = tiny
    with run_proxy(ProxyConfig(provider_bases={"openai": up_url}), throttled=lambda: {"hog"}) as (_, url):
        async def four() -> list[int]:
            async with aiohttp.ClientSession() as s:
                async def one() -> int:
                    async with s.post(f"{url}/openai/v1/chat/completions", json=CHAT, headers={
                            "authorization": "Bearer sk-test-0123456789abcdef", "x-test": "slow",
                            "x-quotawarden-agent": consumer}) as r:
                        await r.read()
                        return r.status
                return await asyncio.gather(*(one() for _ in range(4)))

        assert asyncio.run(four()) == [200] * 4
    assert up.busiest == busiest


def test_a_limited_pool_falls_back_to_another_providers_pool_with_the_model_mapped(tiny: Any, run_proxy: Any,
                                                                                   sink: RecordingSink) -> None:
    """``primary`` (OpenAI) is limited: the call goes to its fallback tier ``backup`` (xAI, OpenAI-style API) with
    the model renamed by the pool's model map; other families (an Anthropic pool) are never tried."""
    up, up_url = tiny
    accounts = (Upstream("openai-1", "openai", up_url, "k-429", "primary"),
                Upstream("xai-1", "xai", up_url, "k-xai-good", "backup"),
                Upstream("claude-1", "anthropic", up_url, "k-claude", "other"))
    cfg = ProxyConfig(accounts=accounts, pools=(
        PoolDef("primary", (), ("other", "backup"), {"gpt-4o-mini": "grok-3-mini"}),
        PoolDef("backup", ()), PoolDef("other", ())))
    moves: list[tuple[str, str, str, dict[str, Any]]] = []
    with run_proxy(cfg, on_action=lambda *move: moves.append(move)) as (_, url):
        r = httpx.post(f"{url}/primary/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer x"})
        assert r.status_code == 200
        wait_for(lambda: len(sink.usage) == 1)
    sent = [(s["headers"]["authorization"], orjson.loads(s["body"])["model"]) for s in up.seen]
    assert sent == [("Bearer k-429", "gpt-4o-mini"), ("Bearer k-xai-good", "grok-3-mini")]
    assert sink.usage[0].account_id == "xai-1" and sink.usage[0].provider == "xai"
    assert [m[3]["to"] for m in moves] == ["xai-1"]


def test_a_claude_pool_falls_back_to_a_zai_key_on_its_anthropic_compatible_endpoint(tiny: Any,
                                                                                    run_proxy: Any) -> None:
    """``api = "anthropic"`` on the Z.ai pool puts it in the Anthropic family: a fallback tier for Claude keys, the
    Z.ai key going up as a bearer token, the model mapped."""
    up, up_url = tiny
    accounts = (Upstream("claude-1", "anthropic", up_url, "k-429", "claude"),
                Upstream("zai-1", "zai", up_url + "/api/anthropic", "zai-key-0123", "glm"))
    cfg = ProxyConfig(accounts=accounts, pools=(
        PoolDef("claude", (), ("glm",), {"claude-sonnet-4-5": "glm-4.6"}), PoolDef("glm", (), api="anthropic")))
    body = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    with run_proxy(cfg) as (_, url):
        r = httpx.post(f"{url}/claude/v1/messages", json=body, headers={"x-api-key": "anything"})
    assert r.status_code == 200
    first, second = up.seen
    assert (first["path"], first["headers"]["x-api-key"]) == ("/v1/messages", "k-429")
    assert (second["path"], second["headers"]["authorization"]) == ("/api/anthropic/v1/messages", "Bearer zai-key-0123")
    assert "x-api-key" not in second["headers"] and orjson.loads(second["body"])["model"] == "glm-4.6"
