"""A tiny OpenAI/Anthropic-shaped upstream for the proxy's fault tests: every misbehaviour on demand.

The key picks the behaviour (``k-429`` answers 429, ``k-401`` answers 401); the ``x-test`` header picks a fault
(``500`` a server error, ``hang`` before headers, ``slow`` 0.2 s before headers, ``break`` mid-stream, ``forever``
streams until the caller leaves). ``busiest`` is the most calls it ever had in flight at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

RL_HEADERS = [(b"x-ratelimit-limit-requests", b"500"), (b"x-ratelimit-remaining-requests", b"499"),
              (b"x-ratelimit-reset-requests", b"120ms"), (b"x-ratelimit-limit-tokens", b"30000"),
              (b"x-ratelimit-remaining-tokens", b"29000"), (b"x-ratelimit-reset-tokens", b"2s"),
              (b"x-request-id", b"req_tiny")]


class TinyUpstream:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.cancelled = 0
        self.extra_headers: list[tuple[bytes, bytes]] = []
        self.in_flight = 0
        self.busiest = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append({"path": scope["path"], "headers": headers, "body": body})
        key = headers.get("authorization", "").removeprefix("Bearer ") or headers.get("x-api-key", "")
        fault = headers.get("x-test", "")
        if key == "k-429":
            return await _json(send, 429, {"error": {"message": "Rate limit reached", "type": "requests",
                                                      "param": None, "code": "rate_limit_exceeded"}},
                               [(b"retry-after", b"30"), *RL_HEADERS[:2], (b"x-ratelimit-remaining-requests", b"0")])
        if key == "k-401":
            return await _json(send, 401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error",
                                                      "param": None, "code": "invalid_api_key"}}, [])
        if fault == "hang":
            await asyncio.sleep(1)
        if fault == "slow":
            self.in_flight += 1
            self.busiest = max(self.busiest, self.in_flight)
            await asyncio.sleep(0.2)
            self.in_flight -= 1
        if fault == "500":
            return await _json(send, 500, {"error": {"message": "The server had an error", "type": "server_error",
                                                      "param": None, "code": None}}, [])
        req = orjson.loads(body) if body else {}
        if not req.get("stream"):
            usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
            return await _json(send, 200, {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
                                           "choices": [{"index": 0, "message": {"role": "assistant",
                                                                                "content": "hi"},
                                                        "finish_reason": "stop"}], "usage": usage},
                               RL_HEADERS + self.extra_headers)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), *RL_HEADERS, *self.extra_headers]})
        include = (req.get("stream_options") or {}).get("include_usage")
        n = 1000 if fault == "forever" else 3
        try:
            for i in range(n):
                chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                         "choices": [{"index": 0, "delta": {"content": f"t{i}"}, "finish_reason": None}]}
                if include:
                    chunk["usage"] = None
                await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n",
                            "more_body": True})
                if fault == "break" and i == 1:
                    raise RuntimeError("upstream dies mid-stream")
                if fault == "forever":
                    await asyncio.sleep(0.02)
                    if await _gone(receive):
                        self.cancelled += 1
                        return
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if include:
            final = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": [],
                     "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}
            await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(final) + b"\n\n",
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


async def _gone(receive: Any) -> bool:
    try:
        msg = await asyncio.wait_for(receive(), 0.001)
    except TimeoutError:
        return False
    return msg["type"] == "http.disconnect"


async def _json(send: Any, status: int, obj: Any, headers: list[tuple[bytes, bytes]]) -> None:
    body = orjson.dumps(obj)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
