"""A plug-in provider that is not OpenAI-shaped is proxied with no core edit: its spec declares the dialect.

"Relay" (tests/plugins/relay_plugin.py) is installed as a third-party distribution and loaded through the entry
point; the real proxy runs on loopback in front of the emulator's Anthropic Messages API, and the official
``anthropic`` SDK is the client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import pytest

from quotawarden.domain import Source
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.plugins import load_plugins
from quotawarden.sources.proxy import PoolDef, ProxyApp, ProxyConfig, Upstream
from quotawarden.spec import ProviderSpec
from tests.plugins.kit import install_dist
from tests.proxy.conftest import RecordingSink
from tests.proxy.conftest import serve as serve_proxy
from tests.proxy.test_proxy_core import wait_for

RELAY_KEY = "sk-ant-api03-" + "r" * 40
LIMITED_KEY = "sk-ant-api03-" + "l" * 40
MSGS: Any = [{"role": "user", "content": "Say hello"}]
MODEL = "claude-sonnet-4-5"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    scenario = Scenario(accounts=[
        EmuAccount("relay", "anthropic", RELAY_KEY, limits={"requests": 50, "tokens": 80_000}),
        EmuAccount("relay-limited", "anthropic", LIMITED_KEY, limits={"requests": 50}, fault="429"),
    ])
    with serve(create_app(scenario)) as url:
        yield url


@pytest.fixture
def providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, ProviderSpec]:
    """The plug-in as a user has it: an installed distribution with a ``quotawarden.providers`` entry point."""
    install_dist(tmp_path, "qw-relay", "[quotawarden.providers]\nrelay = tests.plugins.relay_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("QUOTAWARDEN_LOAD_PLUGINS", "qw-relay")
    plugins = load_plugins()
    assert plugins.failed == [] and plugins.origin["provider:relay"] == "qw-relay"
    assert plugins.providers["relay"].dialect == "anthropic"
    return plugins.providers


@contextmanager
def proxy(emulator: str, providers: dict[str, ProviderSpec], sink: RecordingSink, tmp_path: Path) -> Iterator[str]:
    config = ProxyConfig(
        provider_bases={"relay": emulator},
        accounts=(Upstream("relay-1", "relay", emulator, RELAY_KEY, "relay-pool"),
                  Upstream("relay-2", "relay", emulator, LIMITED_KEY, "relay-tight")),
        pools=(PoolDef("relay-pool", ()), PoolDef("relay-tight", ())),
        spill_dir=tmp_path / "spill", flush_interval_s=0.05)
    with serve_proxy(ProxyApp(config, sink=sink, providers=providers)) as url:
        yield url


def client(base: str, key: str = "pool-mode-needs-no-key") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)


def test_a_plugin_provider_is_proxied_in_its_declared_dialect(emulator: str, providers: dict[str, ProviderSpec],
                                                               tmp_path: Path) -> None:
    sink = RecordingSink()
    with proxy(emulator, providers, sink, tmp_path) as url:
        pool = client(f"{url}/relay-pool")  # the proxy injects the account's key where Anthropic wants it
        msg = pool.messages.create(model=MODEL, max_tokens=64, messages=MSGS)
        assert msg.content and msg.usage.output_tokens > 0
        with pool.messages.stream(model=MODEL, max_tokens=64, messages=MSGS) as stream:
            streamed = stream.get_final_message()
        with client(f"{url}/relay", RELAY_KEY).messages.stream(model=MODEL, max_tokens=64, messages=MSGS) as stream:
            passed = stream.get_final_message()  # pass-through: the caller's own key, usage read from the stream
        wait_for(lambda: len(sink.usage) >= 3)
        wait_for(lambda: any(s.window == "relay-requests" for s in sink.samples))

        tight = client(f"{url}/relay-tight")
        with pytest.raises(anthropic.RateLimitError):  # the upstream's own 429 (relayed)
            tight.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
        with pytest.raises(anthropic.RateLimitError) as info:  # the proxy's own 429, in the Anthropic shape
            tight.messages.create(model=MODEL, max_tokens=8, messages=MSGS)

    first, second, third = sink.usage[:3]
    assert {e.provider for e in (first, second, third)} == {"relay"}
    assert (first.account_id, first.model) == ("relay-1", msg.model)
    assert (first.input_tokens, first.output_tokens) == (msg.usage.input_tokens, msg.usage.output_tokens)
    assert (second.input_tokens, second.output_tokens) == (streamed.usage.input_tokens, streamed.usage.output_tokens)
    assert (second.model, second.request_id) == (streamed.model, streamed.id)
    assert third.output_tokens == passed.usage.output_tokens and third.account_id != "relay-1"  # an observed key

    by_window = {s.window: s for s in sink.samples if s.account_id == "relay-1"}
    requests = by_window["relay-requests"]
    assert requests.source is Source.PROXY and requests.limit == 50 and requests.remaining is not None
    assert requests.remaining < 50 and requests.resets_at is not None
    assert by_window["relay-tokens"].limit == 80_000

    body: Any = info.value.body
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert "every account of 'relay-tight' is limited" in body["error"]["message"]


def test_the_declared_dialect_is_what_the_proxy_uses(emulator: str, providers: dict[str, ProviderSpec],
                                                     tmp_path: Path) -> None:
    """The same plug-in declaring the OpenAI dialect: its errors come out OpenAI-shaped and what Anthropic streams in
    ``message_start`` (model, message id) is missed. The spec's field, not the slug, decides."""
    openai_shaped = {**providers, "relay": dataclasses.replace(providers["relay"], dialect="openai")}
    sink = RecordingSink()
    with proxy(emulator, openai_shaped, sink, tmp_path) as url:
        with client(f"{url}/relay-pool").messages.stream(model=MODEL, max_tokens=64, messages=MSGS) as stream:
            final = stream.get_final_message()
        tight = client(f"{url}/relay-tight")
        with pytest.raises(anthropic.RateLimitError):
            tight.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
        with pytest.raises(anthropic.RateLimitError) as info:
            tight.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
        wait_for(lambda: sink.usage)
    assert (sink.usage[0].model, sink.usage[0].request_id) != (final.model, final.id)
    body: Any = info.value.body
    assert "type" not in body and body["error"]["code"] == "rate_limit_exceeded"
