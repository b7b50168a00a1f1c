"""Anthropic Messages API with an API key (``x-api-key: sk-ant-api03-...``).

Windows (``EmuAccount.limits``, per minute): ``requests``, ``tokens``, ``input-tokens``, ``output-tokens``.
Every response carries ``anthropic-ratelimit-<window>-{limit,remaining,reset}`` (tokens rounded to thousands,
RFC3339 resets); a request that does not fit gets a 429 ``rate_limit_error`` with ``retry-after``, or without it
with ``extra["retry_after"] = False`` (real 429s without one exist: anthropics/anthropic-sdk-typescript#357).

The message builders here (:func:`messages`, :func:`anthropic_error`) are reused by ``claude.py``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

_ids = itertools.count(1)
WINDOWS = ("requests", "tokens", "input-tokens", "output-tokens")
REPLY = ["Hello", " from", " the", " emulator", "."]

_ERRORS = {
    "400": (400, "invalid_request_error", "Invalid request."),
    "401": (401, "authentication_error", "invalid x-api-key"),
    "402": (402, "billing_error", "Your credit balance is too low to access the Anthropic API."),
    "403": (403, "permission_error", "Your API key does not have permission to use the specified resource."),
    "404": (404, "not_found_error", "Not found."),
    "429": (429, "rate_limit_error", "This request would exceed the rate limit for your organization."),
    "500": (500, "api_error", "Internal server error"),
    "503": (503, "api_error", "Service unavailable"),
    "504": (504, "timeout_error", "Request timed out"),
    "529": (529, "overloaded_error", "Overloaded"),
}


def request_id() -> str:
    return f"req_011CEmu{next(_ids):017d}"


def anthropic_error(kind: str, message: str | None = None, retry_after: float | None = None, *,
                    send_retry_after: bool = True) -> Response:
    status, etype, text = _ERRORS.get(kind, _ERRORS["500"])
    rid = request_id()
    headers = {"request-id": rid, "x-should-retry": "true" if status in (429, 500, 503, 529) else "false"}
    if status == 429 and send_retry_after:
        headers["retry-after"] = str(math.ceil(retry_after if retry_after is not None else 17))
    return json_response({"type": "error", "error": {"type": etype, "message": message or text},
                          "request_id": rid}, status, headers)


def rfc3339(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def refill_at(req: EmuRequest, window: str) -> datetime:
    """Token-bucket semantics: when the bucket is full again (at least one second ahead)."""
    limit = req.acct.limits.get(window) or 1.0
    seconds = max(1.0, 60.0 * req.used(window) / limit)
    return req.now + timedelta(seconds=math.ceil(seconds))


def ratelimit_headers(req: EmuRequest) -> dict[str, str]:
    out: dict[str, str] = {}
    for w in WINDOWS:
        if w not in req.acct.limits:
            continue
        remaining = req.remaining(w)
        if w != "requests":
            remaining = round(remaining, -3)
        out[f"anthropic-ratelimit-{w}-limit"] = str(int(req.acct.limits[w]))
        out[f"anthropic-ratelimit-{w}-remaining"] = str(int(remaining))
        out[f"anthropic-ratelimit-{w}-reset"] = rfc3339(refill_at(req, w))
    out.setdefault("anthropic-organization-id", "6f1c2a4e-93b1-4d0a-8c55-" + f"{abs(hash(req.acct.id)):012d}"[:12])
    return out


def count_input_tokens(body: dict[str, Any]) -> int:
    text = orjson.dumps([body.get("system"), body.get("messages"), body.get("tools")])
    return max(1, len(text) // 4)


def _tool_input(schema: dict[str, Any]) -> dict[str, Any]:
    samples = {"string": "example", "integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}
    props = schema.get("properties") or {}
    return {k: samples.get(str(props.get(k, {}).get("type")), "example") for k in schema.get("required") or []}


def build_message(body: dict[str, Any], input_tokens: int) -> dict[str, Any]:
    max_tokens = int(body.get("max_tokens") or 1024)
    tools = body.get("tools") or []
    choice = (body.get("tool_choice") or {}).get("type")
    if tools and choice != "none":
        tool = tools[0]
        content: list[dict[str, Any]] = [{"type": "tool_use", "id": f"toolu_01Emu{next(_ids):018d}",
                                          "name": tool.get("name", "tool"),
                                          "input": _tool_input(tool.get("input_schema") or {})}]
        out_tokens, stop = min(max_tokens, 24), "tool_use"
    else:
        words = REPLY[:max(1, min(max_tokens, len(REPLY)))]
        content = [{"type": "text", "text": "".join(words)}]
        out_tokens, stop = len(words), ("max_tokens" if max_tokens < len(REPLY) else "end_turn")
    return {
        "id": f"msg_01Emu{next(_ids):019d}", "type": "message", "role": "assistant",
        "model": body.get("model") or "claude-sonnet-4-5-20250929", "content": content,
        "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                  "output_tokens": out_tokens, "service_tier": "standard"},
    }


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def stream_message(message: dict[str, Any]) -> AsyncIterator[bytes]:
    usage = message["usage"]
    start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
    yield _sse("message_start", {"type": "message_start", "message": start})
    for i, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield _sse("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "text", "text": ""}})
            if i == 0:
                yield _sse("ping", {"type": "ping"})
            for word in _split(block["text"]):
                yield _sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "text_delta", "text": word}})
        else:
            yield _sse("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": dict(block, input={})})
            yield _sse("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {
                "type": "input_json_delta", "partial_json": orjson.dumps(block["input"]).decode()}})
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": i})
    yield _sse("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                 "usage": {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                                                 "cache_read_input_tokens", "output_tokens")}})
    yield _sse("message_stop", {"type": "message_stop"})


def _split(text: str) -> list[str]:
    parts = [w for w in REPLY if w in text]
    return parts if "".join(parts) == text else [text]


Gate = Callable[[EmuRequest, int], Response | None]
"""Return a refusal (429) when the request does not fit the account's limits, else None."""


def standard_gate(req: EmuRequest, input_tokens: int) -> Response | None:
    need = {"requests": 1, "input-tokens": input_tokens, "tokens": input_tokens}
    for window, amount in need.items():
        if window in req.acct.limits and req.remaining(window) < amount:
            wait = (refill_at(req, window) - req.now).total_seconds()
            return anthropic_error("429", retry_after=wait, send_retry_after=req.acct.extra.get("retry_after", True))
    return None


def messages_handler(gate: Gate, consume: Callable[[EmuRequest, dict[str, Any]], None]
                     ) -> Callable[[EmuRequest], Awaitable[Response]]:
    async def handle(req: EmuRequest) -> Response:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            return anthropic_error("400", "messages: field required" if isinstance(body, dict) else
                                   "invalid JSON body")
        input_tokens = count_input_tokens(body)
        if refusal := gate(req, input_tokens):
            return refusal
        message = build_message(body, input_tokens)
        consume(req, message)
        headers = {"request-id": request_id()}
        if body.get("stream"):
            return StreamingResponse(stream_message(message), media_type="text/event-stream", headers=headers)
        return json_response(message, headers=headers)

    return handle


def standard_consume(req: EmuRequest, message: dict[str, Any]) -> None:
    u = message["usage"]
    req.state.consume(req.acct.id, {"requests": 1, "input-tokens": u["input_tokens"],
                                    "output-tokens": u["output_tokens"],
                                    "tokens": u["input_tokens"] + u["output_tokens"]}, req.now)


async def count_tokens(req: EmuRequest) -> Response:
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return anthropic_error("400", "messages: field required")
    return json_response({"input_tokens": count_input_tokens(body)})


MODELS = [("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"), ("claude-opus-4-1-20250805", "Claude Opus 4.1"),
          ("claude-haiku-4-5-20251001", "Claude Haiku 4.5")]


async def models(req: EmuRequest) -> Response:
    data = [{"type": "model", "id": m, "display_name": n, "created_at": "2025-09-29T00:00:00Z"} for m, n in MODELS]
    return json_response({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})


def error(req: EmuRequest, kind: str) -> Response:
    return anthropic_error(kind)


EMULATOR = EmulatedProvider(
    slug="anthropic",
    routes=[
        Route("POST", "/v1/messages", messages_handler(standard_gate, standard_consume)),
        Route("POST", "/v1/messages/count_tokens", count_tokens),
        Route("GET", "/v1/models", models),
    ],
    error=error,
    headers=ratelimit_headers,
    credential_hint=r"^sk-ant-api",
)
