"""Rate-limit headers a reader cannot read are read as absent, never break a request, and are counted:
``/_quotawarden/health`` says how many answers carried one (``header_errors``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from quotawarden.providers import anthropic, openai
from quotawarden.sources.proxy import ProxyConfig
from quotawarden.spec import Headers
from tests.proxy.conftest import RecordingSink
from tests.proxy.test_proxy_core import CHAT, wait_for

KEY = {"authorization": "Bearer sk-test-0123456789abcdef"}
NOW = datetime(2026, 8, 20, 14, 0, tzinfo=UTC)
TWENTY_SIX = "12345678901234567890123456"


@pytest.mark.parametrize(("provider", "path", "garbage"), [
    ("openai", "/openai/v1/chat/completions",
     [(b"x-ratelimit-limit-requests", b"500"), (b"x-ratelimit-remaining-requests", b"lots"),
      (b"x-ratelimit-reset-requests", TWENTY_SIX.encode())]),
    ("anthropic", "/anthropic/v1/messages",
     [(b"anthropic-ratelimit-requests-limit", b"50"), (b"anthropic-ratelimit-requests-remaining", b"NaN"),
      (b"anthropic-ratelimit-requests-reset", TWENTY_SIX.encode())]),
])
def test_eight_unreadable_answers_are_eight_header_errors(tiny: Any, run_proxy: Any, sink: RecordingSink,
                                                          provider: str, path: str,
                                                          garbage: list[tuple[bytes, bytes]]) -> None:
    up, up_url = tiny
    up.extra_headers = garbage
    with run_proxy(ProxyConfig(provider_bases={provider: up_url})) as (_, url):
        for _ in range(8):
            r = httpx.post(f"{url}{path}", json=CHAT, headers={**KEY, "x-api-key": "sk-ant-test-0123456789"})
            assert r.status_code == 200
        wait_for(lambda: httpx.get(f"{url}/_quotawarden/health").json()["header_errors"] == 8, timeout=10)
        up.extra_headers = [(b"x-ratelimit-limit-requests", b"500"), (b"x-ratelimit-remaining-requests", b"499"),
                            (b"anthropic-ratelimit-requests-limit", b"50"),
                            (b"anthropic-ratelimit-requests-remaining", b"49")]
        assert httpx.post(f"{url}{path}", json=CHAT, headers=KEY).status_code == 200
        wait_for(lambda: any(s.remaining in (49, 499) for s in sink.samples), timeout=10)  # read and stored
        assert httpx.get(f"{url}/_quotawarden/health").json()["header_errors"] == 8  # readable ones are not


@pytest.mark.parametrize(("reader", "headers", "unreadable"), [
    (openai.HEADERS, {"x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "900",
                      "x-ratelimit-reset-tokens": TWENTY_SIX}, ["x-ratelimit-reset-tokens"]),
    (openai.HEADERS, {"x-ratelimit-limit-tokens": "1e999", "x-ratelimit-reset-tokens": "-3s"},
     ["x-ratelimit-limit-tokens", "x-ratelimit-reset-tokens"]),
    (anthropic.HEADERS, {"anthropic-ratelimit-tokens-limit": "1000", "anthropic-ratelimit-tokens-remaining": "1",
                         "anthropic-ratelimit-tokens-reset": TWENTY_SIX}, ["anthropic-ratelimit-tokens-reset"]),
])
def test_readers_note_each_unreadable_header_and_keep_the_rest(reader: Any, headers: dict[str, str],
                                                               unreadable: list[str]) -> None:
    h = Headers(headers)
    samples = reader.read("acct", 200, h, NOW)
    assert sorted(h.unreadable) == sorted(unreadable)
    assert all(s.resets_at is None or s.resets_at.year < 2100 for s in samples)
