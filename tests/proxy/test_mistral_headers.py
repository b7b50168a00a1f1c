"""Proxied Mistral traffic yields samples: the proxy reads the real ``x-ratelimit-*-{minute,month}`` headers with
the same reader the probe uses (the emulator plays the header set captured in mistralai/client-ts#169)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from quotawarden.domain import Source, Unit
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.redact import fingerprint
from quotawarden.sources.proxy import ProxyConfig
from tests.proxy.conftest import RecordingSink

KEY = "mistral-proxy-key-0123456789abcdefghij"
CHAT = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    account = EmuAccount("mistral-emu", "mistral", KEY, limits={"tokens": 5_000_000, "requests": 720, "month": 1e9},
                         used={"tokens": 89, "requests": 2, "month": 1_201_566})
    with serve(create_app(Scenario([account]))) as url:
        yield url


def test_proxied_mistral_answers_yield_minute_and_month_windows(emulator: str, run_proxy: Any,
                                                                 sink: RecordingSink) -> None:
    cfg = ProxyConfig(provider_bases={"mistral": emulator}, known_fingerprints={fingerprint(KEY): "mistral-1"})
    with run_proxy(cfg) as (_, url):
        r = httpx.post(f"{url}/mistral/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {KEY}"})
        assert r.status_code == 200 and r.headers["x-ratelimit-limit-tokens-minute"] == "5000000"
        end = time.monotonic() + 5
        while {s.window for s in sink.samples} != {"tpm", "rpm", "monthly"} and time.monotonic() < end:
            time.sleep(0.02)
    got = {s.window: s for s in sink.samples}
    assert set(got) == {"tpm", "rpm", "monthly"}
    assert all(s.account_id == "mistral-1" and s.source is Source.PROXY for s in got.values())
    assert (got["rpm"].unit, got["rpm"].limit) == (Unit.REQUESTS, 720) and got["rpm"].remaining is not None
    assert got["rpm"].remaining < 720 and got["tpm"].limit == 5_000_000 and got["tpm"].window_length_s == 60
    assert (got["monthly"].unit, got["monthly"].limit, got["monthly"].remaining) == (Unit.TOKENS, 1e9, 1e9 - 1_201_566)
