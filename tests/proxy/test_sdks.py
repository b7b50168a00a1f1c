"""The official ``openai`` and ``anthropic`` SDKs, unchanged, with ``base_url`` pointed at the proxy.

Upstream is the project's emulator. Every answer is compared with the same call made direct (ids and timestamps
aside, which the emulator makes fresh per call), and the usage event must match what the SDK itself reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.sources.proxy import ClientToken, PoolDef, ProxyConfig, Upstream
from tests.proxy.conftest import RecordingSink
from tests.proxy.test_proxy_core import wait_for

OPENAI_KEY = "sk-proj-" + "a" * 40
OPENAI_LIMITED = "sk-proj-" + "b" * 40
ANTHROPIC_KEY = "sk-ant-api03-" + "c" * 40
AGENT = {"X-Quotawarden-Agent": "sdk-test", "X-Quotawarden-Project": "proxy-suite"}
TOOL_OAI = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                               "parameters": {"type": "object",
                                                              "properties": {"city": {"type": "string"}}}}}]
TOOL_ANT = [{"name": "get_weather", "description": "Weather in a city",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
MSGS = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    scenario = Scenario(accounts=[
        EmuAccount("oai", "openai", OPENAI_KEY, limits={"requests": 500, "tokens": 200_000}),
        EmuAccount("oai-limited", "openai", OPENAI_LIMITED, limits={"requests": 500}, fault="429"),
        EmuAccount("ant", "anthropic", ANTHROPIC_KEY,
                   limits={"requests": 50, "tokens": 80_000, "input-tokens": 40_000, "output-tokens": 16_000}),
    ])
    with serve(create_app(scenario)) as url:
        yield url


@pytest.fixture
def proxy(emulator: str, run_proxy: Any) -> Iterator[str]:
    cfg = ProxyConfig(
        provider_bases={"openai": emulator, "anthropic": emulator},
        accounts=(Upstream("pool-oai", "openai", emulator, OPENAI_KEY, "oai-pool"),),
        pools=(PoolDef("oai-pool", ()),),
    )
    with run_proxy(cfg) as (_, url):
        yield url


@pytest.fixture
def token_proxy(emulator: str, run_proxy: Any) -> Iterator[str]:
    cfg = ProxyConfig(
        provider_bases={"openai": emulator},
        accounts=(Upstream("pool-oai", "openai", emulator, OPENAI_KEY, "oai-pool"),),
        pools=(PoolDef("oai-pool", ()),),
        client_tokens=(ClientToken("qw-tok-bob", "bob", "pool-project", ()),),
    )
    with run_proxy(cfg) as (_, url):
        yield url


def clean(obj: Any) -> Any:
    """Drop what the emulator makes fresh per call."""
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items() if k not in ("id", "created", "created_at", "request_id")}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return obj


def oai(base: str, key: str = OPENAI_KEY, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=base, api_key=key, max_retries=0, default_headers=AGENT, **kw)


def ant(base: str, key: str = ANTHROPIC_KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, default_headers=AGENT)


def both(emulator: str, proxy: str, fam: str) -> tuple[Any, Any]:
    if fam == "openai":
        return oai(f"{proxy}/openai/v1", http_client=None), oai(f"{emulator}/v1")
    return ant(f"{proxy}/anthropic"), ant(emulator)


@pytest.mark.parametrize("tools", [None, TOOL_OAI], ids=["text", "tool-call"])
def test_openai_chat_non_stream(emulator: str, proxy: str, sink: RecordingSink, tools: Any) -> None:
    via, direct = both(emulator, proxy, "openai")
    kw: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MSGS, **({"tools": tools} if tools else {})}
    a = via.chat.completions.create(**kw)
    b = direct.chat.completions.create(**kw)
    assert clean(a.model_dump()) == clean(b.model_dump())
    if tools:
        assert a.choices[0].message.tool_calls[0].function.name == "get_weather"
    wait_for(lambda: sink.usage)
    e = sink.usage[0]
    assert a.usage is not None
    assert (e.consumer, e.project, e.model) == ("sdk-test", "proxy-suite", a.model)
    assert e.input_tokens + e.cache_read_tokens == a.usage.prompt_tokens
    assert e.output_tokens == a.usage.completion_tokens


@pytest.mark.parametrize("tools", [None, TOOL_OAI], ids=["text", "tool-call"])
def test_openai_chat_stream(emulator: str, proxy: str, sink: RecordingSink, tools: Any) -> None:
    via, direct = both(emulator, proxy, "openai")
    kw: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MSGS, "stream": True,
                          **({"tools": tools} if tools else {})}
    a = [clean(c.model_dump()) for c in via.chat.completions.create(**kw)]
    b = [clean(c.model_dump()) for c in direct.chat.completions.create(**kw)]
    assert a == b  # including: no usage chunk the client did not ask for
    wait_for(lambda: sink.usage)
    assert sink.usage[0].output_tokens > 0 and sink.usage[0].consumer == "sdk-test"


def test_openai_responses_and_embeddings(emulator: str, proxy: str, sink: RecordingSink) -> None:
    via, direct = both(emulator, proxy, "openai")
    a = via.responses.create(model="gpt-4o-mini", input="hello")
    b = direct.responses.create(model="gpt-4o-mini", input="hello")
    assert clean(a.model_dump()) == clean(b.model_dump())
    with via.responses.stream(model="gpt-4o-mini", input="hello") as s:
        final = s.get_final_response()
    assert final.usage is not None
    e1 = via.embeddings.create(model="text-embedding-3-small", input="hi")
    e2 = direct.embeddings.create(model="text-embedding-3-small", input="hi")
    assert e1.model_dump() == e2.model_dump()
    wait_for(lambda: len(sink.usage) >= 3)
    assert sink.usage[1].output_tokens == final.usage.output_tokens


def test_openai_errors_are_the_providers_own(emulator: str, proxy: str) -> None:
    via, direct = oai(f"{proxy}/openai/v1", OPENAI_LIMITED), oai(f"{emulator}/v1", OPENAI_LIMITED)
    errors = []
    for client in (via, direct):
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        errors.append(info.value)
    assert errors[0].status_code == errors[1].status_code == 429
    assert clean(errors[0].body) == clean(errors[1].body)
    with pytest.raises(openai.AuthenticationError):
        oai(f"{proxy}/openai/v1", "sk-proj-unknown" + "z" * 30).models.list()


@pytest.mark.parametrize("tools", [None, TOOL_ANT], ids=["text", "tool-use"])
def test_anthropic_messages_non_stream_and_stream(emulator: str, proxy: str, sink: RecordingSink,
                                                  tools: Any) -> None:
    via, direct = both(emulator, proxy, "anthropic")
    kw: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": MSGS,
                          **({"tools": tools} if tools else {})}
    a = via.messages.create(**kw)
    b = direct.messages.create(**kw)
    assert clean(a.model_dump()) == clean(b.model_dump())
    with via.messages.stream(**kw) as s:
        events_via = [clean(e.model_dump()) for e in s]
        final = s.get_final_message()
    with direct.messages.stream(**kw) as s:
        events_direct = [clean(e.model_dump()) for e in s]
    assert events_via == events_direct
    if tools:
        assert final.content[0].type == "tool_use"
    wait_for(lambda: len(sink.usage) == 2)
    plain, streamed = sink.usage
    assert (plain.input_tokens, plain.output_tokens) == (a.usage.input_tokens, a.usage.output_tokens)
    assert (streamed.input_tokens, streamed.output_tokens) == (final.usage.input_tokens, final.usage.output_tokens)
    assert {plain.consumer, streamed.consumer} == {"sdk-test"}
    assert streamed.model == "claude-sonnet-4-5"


def test_anthropic_count_tokens_and_errors(emulator: str, proxy: str) -> None:
    via, direct = both(emulator, proxy, "anthropic")
    kw: dict[str, Any] = {"model": "claude-sonnet-4-5", "messages": MSGS}
    assert via.messages.count_tokens(**kw).input_tokens == direct.messages.count_tokens(**kw).input_tokens
    bodies = []
    for base in (f"{proxy}/anthropic", emulator):
        with pytest.raises(anthropic.AuthenticationError) as info:
            ant(base, "sk-ant-api03-unknown" + "q" * 30).messages.create(max_tokens=8, **kw)
        bodies.append(clean(info.value.body))
    assert bodies[0] == bodies[1]


def test_pool_mode_with_a_client_token_through_the_sdk(token_proxy: str, sink: RecordingSink,
                                                      providers: dict[str, Any]) -> None:
    client = openai.OpenAI(base_url=f"{token_proxy}/oai-pool/v1", api_key="qw-tok-bob", max_retries=0)
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert r.choices[0].message.content
    wait_for(lambda: sink.usage)
    e = sink.usage[0]
    assert (e.account_id, e.consumer, e.project) == ("pool-oai", "bob", "pool-project")
    if "openai" in providers:
        wait_for(lambda: sink.samples)
        assert {s.account_id for s in sink.samples} == {"pool-oai"}
        assert {s.source.value for s in sink.samples} == {"proxy"}
    with pytest.raises(openai.AuthenticationError):  # a real key is not a client token
        openai.OpenAI(base_url=f"{token_proxy}/oai-pool/v1", api_key=OPENAI_KEY, max_retries=0).models.list()


def test_anthropic_headers_become_samples(proxy: str, sink: RecordingSink, providers: dict[str, Any]) -> None:
    if "anthropic" not in providers:
        pytest.skip("the anthropic provider plug-in is not installed")
    ant(f"{proxy}/anthropic").messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MSGS)
    wait_for(lambda: sink.samples and sink.usage)
    assert {s.account_id for s in sink.samples} == {sink.usage[0].account_id}
    assert {s.window for s in sink.samples} >= {"rpm", "tpm"}
