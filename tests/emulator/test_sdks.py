"""The official SDKs work unchanged against the emulator over loopback HTTP."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                                "required": ["city"]}}


@pytest.fixture
def claude_api(emulator, demo) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=demo.by_id("anthropic-prod").credential, base_url=emulator[0], max_retries=0)


@pytest.fixture
def oai(emulator, demo) -> openai.OpenAI:
    return openai.OpenAI(api_key=demo.by_id("openai-main").credential, base_url=emulator[0] + "/v1", max_retries=0)


def test_anthropic_messages_and_headers(claude_api: anthropic.Anthropic) -> None:
    raw = claude_api.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=1,
                                                       messages=[{"role": "user", "content": "hi"}])
    msg = raw.parse()
    assert msg.usage.output_tokens == 1 and msg.stop_reason == "max_tokens"
    assert raw.headers["anthropic-ratelimit-requests-limit"] == "1000"
    assert int(raw.headers["anthropic-ratelimit-tokens-remaining"]) % 1000 == 0
    assert raw.headers["anthropic-ratelimit-tokens-reset"].endswith("Z")


def test_anthropic_stream_and_tools(claude_api: anthropic.Anthropic) -> None:
    with claude_api.messages.stream(model="m", max_tokens=50, messages=[{"role": "user", "content": "hi"}]) as s:
        final = s.get_final_message()
    assert final.content[0].text == "Hello from the emulator." and final.usage.output_tokens == 5
    with claude_api.messages.stream(model="m", max_tokens=50, tools=[TOOL],
                                    messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use" and final.content[0].input == {"city": "example"}
    assert claude_api.messages.count_tokens(model="m", messages=[{"role": "user", "content": "hi"}]).input_tokens > 0


def test_anthropic_errors(emulator, demo) -> None:
    bad = anthropic.Anthropic(api_key="sk-ant-api03-not-a-known-key", base_url=emulator[0], max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as err:
        bad.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["error"]["type"] == "authentication_error"
    limited = anthropic.Anthropic(api_key=demo.by_id("anthropic-ci").credential, base_url=emulator[0],
                                  max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as err:
        limited.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "hi"}])
    assert int(err.value.response.headers["retry-after"]) > 0


def test_openai_chat_stream_usage_only_when_asked(oai: openai.OpenAI) -> None:
    msgs = [{"role": "user", "content": "hi"}]
    chunks = list(oai.chat.completions.create(model="gpt-4.1-mini", messages=msgs, stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    plain = list(oai.chat.completions.create(model="gpt-4.1-mini", messages=msgs, stream=True))
    assert all(c.choices for c in plain) and all(c.usage is None for c in plain)


def test_openai_other_endpoints(oai: openai.OpenAI) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-ratelimit-limit-requests"] == "5000"
    assert raw.headers["x-ratelimit-reset-tokens"].endswith(("ms", "s"))
    resp = oai.responses.create(model="gpt-5", input="hi")
    assert resp.output_text == "Hello from the emulator." and resp.usage.total_tokens > 0
    with oai.responses.stream(model="gpt-5", input="hi") as s:
        assert s.get_final_response().usage.output_tokens == 5
    emb = oai.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 8
    assert "gpt-5-2025-08-07" in [m.id for m in oai.models.list()]
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    out = oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], tools=[tool])
    assert out.choices[0].finish_reason == "tool_calls"


def test_openai_insufficient_quota_and_two_accounts_differ(emulator, demo) -> None:
    intern = openai.OpenAI(api_key=demo.by_id("openai-intern").credential, base_url=emulator[0] + "/v1",
                           max_retries=0)
    with pytest.raises(openai.RateLimitError) as err:
        intern.models.list()
    assert err.value.code == "insufficient_quota"
    a, b = (httpx.get(emulator[0] + "/v1/models", headers={"authorization": f"Bearer {demo.by_id(i).credential}"})
            for i in ("openai-main", "openai-research"))
    assert a.headers["x-ratelimit-remaining-tokens"] != b.headers["x-ratelimit-remaining-tokens"]
