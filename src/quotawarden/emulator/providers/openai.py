"""OpenAI API with a project or user key (``Authorization: Bearer sk-proj-...``).

Windows (``EmuAccount.limits``, per minute): ``requests`` and ``tokens``. Every response carries
``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` with Go-style durations (``6m0s``, ``1.5s``, ``20ms``).
Chat Completions (stream and not; a usage chunk with empty ``choices`` only when
``stream_options.include_usage`` is true), Responses (+ stream ending in ``response.completed``), Embeddings
(float or base64) and Models, good enough for the official ``openai`` SDK.

Other OpenAI-compatible emulators can reuse :func:`chat_completions`, :func:`go_duration` and
:func:`openai_ratelimit_headers`.
"""

from __future__ import annotations

import base64
import itertools
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response, openai_error

_ids = itertools.count(1)
REPLY = ["Hello", " from", " the", " emulator", "."]


def go_duration(seconds: float) -> str:
    """``0.012`` -> ``12ms``, ``5.82`` -> ``5.82s``, ``360`` -> ``6m0s``, ``3723`` -> ``1h2m3s``."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    sec = f"{s:.3f}".rstrip("0").rstrip(".") or "0"
    if h:
        return f"{int(h)}h{int(m)}m{sec}s"
    if m:
        return f"{int(m)}m{sec}s"
    return f"{sec}s"


def reset_seconds(req: EmuRequest, window: str) -> float:
    limit = req.acct.limits.get(window) or 1.0
    return 60.0 * req.used(window) / limit


def openai_ratelimit_headers(req: EmuRequest) -> dict[str, str]:
    out: dict[str, str] = {}
    for w in ("requests", "tokens"):
        if w in req.acct.limits:
            out[f"x-ratelimit-limit-{w}"] = str(int(req.acct.limits[w]))
            out[f"x-ratelimit-remaining-{w}"] = str(int(req.remaining(w)))
            out[f"x-ratelimit-reset-{w}"] = go_duration(reset_seconds(req, w))
    out["x-request-id"] = f"req_{next(_ids):032x}"
    out["openai-version"] = "2020-10-01"
    out["openai-processing-ms"] = "42"
    return out


def _estimate(value: Any) -> int:
    return max(1, len(orjson.dumps(value)) // 4)


def gate(req: EmuRequest, tokens: int) -> Response | None:
    for window, amount in (("requests", 1), ("tokens", tokens)):
        if window in req.acct.limits and req.remaining(window) < amount:
            wait = max(1, math.ceil(60.0 * amount / (req.acct.limits[window] or 1)))
            kind = "requests per min (RPM)" if window == "requests" else "tokens per min (TPM)"
            limit = int(req.acct.limits[window])
            msg = (f"Rate limit reached for {kind}: Limit {limit}, Used {int(req.used(window))}, Requested "
                   f"{amount}. Please try again in {wait}s.")
            r = json_response({"error": {"message": msg, "type": window, "param": None,
                                         "code": "rate_limit_exceeded"}}, 429, {"retry-after": str(wait)})
            return r
    return None


def _consume(req: EmuRequest, tokens: int) -> None:
    req.state.consume(req.acct.id, {"requests": 1, "tokens": tokens}, req.now)


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _max_tokens(body: dict[str, Any]) -> int:
    return int(body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens") or 256)


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


async def chat_completions(req: EmuRequest) -> Response:
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
        return openai_error("400", "you must provide a model parameter" if isinstance(body, dict)
                            else "We could not parse the JSON body of your request.")
    prompt = _estimate(body["messages"]) + (_estimate(body["tools"]) if body.get("tools") else 0)
    if refusal := gate(req, prompt):
        return refusal
    n = min(_max_tokens(body), len(REPLY))
    words = REPLY[:n]
    tools = body.get("tools") or []
    use_tool = bool(tools) and body.get("tool_choice") != "none"
    completion = 12 if use_tool else n
    _consume(req, prompt + completion)
    cid = f"chatcmpl-Emu{next(_ids):024d}"
    created = int(req.now.timestamp())
    model = body["model"]
    finish = "tool_calls" if use_tool else ("length" if n < len(REPLY) else "stop")
    tool_calls = [{"id": f"call_{next(_ids):024d}", "type": "function",
                   "function": {"name": tools[0].get("function", {}).get("name", "tool"), "arguments": "{}"}}
                  ] if use_tool else None
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": None if use_tool else "".join(words),
                                   "refusal": None, "annotations": []}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return json_response({
            "id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": _usage(prompt, completion), "service_tier": "default", "system_fingerprint": "fp_emu0000001",
        })
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    async def events() -> AsyncIterator[bytes]:
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "service_tier": "default", "system_fingerprint": "fp_emu0000001"}

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            item = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                        "finish_reason": finish_reason}])
            if include_usage:
                item["usage"] = None
            return _sse(item)

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        if tool_calls:
            yield chunk({"tool_calls": [dict(tool_calls[0], index=0)]})
        else:
            for w in words:
                yield chunk({"content": w})
        yield chunk({}, finish)
        if include_usage:
            yield _sse(dict(base, choices=[], usage=_usage(prompt, completion)))
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def _response_obj(rid: str, created: int, model: str, status: str, text: str | None,
                  usage: dict[str, Any] | None) -> dict[str, Any]:
    output = [] if text is None else [{
        "id": f"msg_{rid[5:]}", "type": "message", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "annotations": [], "text": text}]}]
    return {"id": rid, "object": "response", "created_at": created, "status": status, "model": model,
            "output": output, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "service_tier": "default", "usage": usage}


async def responses(req: EmuRequest) -> Response:
    body = req.json()
    if not isinstance(body, dict) or not body.get("model") or body.get("input") is None:
        return openai_error("400", "Missing required parameter: 'input'.")
    prompt = _estimate(body["input"])
    if refusal := gate(req, prompt):
        return refusal
    words = REPLY[:min(_max_tokens(body), len(REPLY))]
    text = "".join(words)
    _consume(req, prompt + len(words))
    usage = {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
             "output_tokens": len(words), "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": prompt + len(words)}
    rid = f"resp_{next(_ids):032x}"
    created = int(req.now.timestamp())
    done = _response_obj(rid, created, body["model"], "completed", text, usage)
    if not body.get("stream"):
        return json_response(done)

    async def events() -> AsyncIterator[bytes]:
        seq = itertools.count()
        item = done["output"][0]
        empty_item = dict(item, status="in_progress", content=[])
        part = {"type": "output_text", "annotations": [], "text": ""}
        started = _response_obj(rid, created, body["model"], "in_progress", None, None)
        frames: list[tuple[str, dict[str, Any]]] = [
            ("response.created", {"response": started}),
            ("response.in_progress", {"response": started}),
            ("response.output_item.added", {"output_index": 0, "item": empty_item}),
            ("response.content_part.added", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                             "part": part}),
            *[("response.output_text.delta", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                              "delta": w, "logprobs": []}) for w in words],
            ("response.output_text.done", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                           "text": text, "logprobs": []}),
            ("response.content_part.done", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                            "part": dict(part, text=text)}),
            ("response.output_item.done", {"output_index": 0, "item": item}),
            ("response.completed", {"response": done}),
        ]
        for name, data in frames:
            yield _sse({"type": name, "sequence_number": next(seq), **data}, name)

    return StreamingResponse(events(), media_type="text/event-stream")


async def embeddings(req: EmuRequest) -> Response:
    body = req.json()
    if not isinstance(body, dict) or body.get("input") is None or not body.get("model"):
        return openai_error("400", "'input' is a required property")
    inputs = body["input"] if isinstance(body["input"], list) and body["input"] and \
        not isinstance(body["input"][0], int) else [body["input"]]
    tokens = sum(_estimate(i) for i in inputs)
    if refusal := gate(req, tokens):
        return refusal
    _consume(req, tokens)
    dims = int(body.get("dimensions") or 8)
    data = []
    for i, text in enumerate(inputs):
        seed = sum(orjson.dumps(text)) % 97
        vec = [((seed + k * 7) % 13) / 13.0 - 0.5 for k in range(dims)]
        emb: Any = (base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
                    if body.get("encoding_format") == "base64" else vec)
        data.append({"object": "embedding", "index": i, "embedding": emb})
    return json_response({"object": "list", "data": data, "model": body["model"],
                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


MODELS = ["gpt-4.1-mini-2025-04-14", "gpt-4.1-nano", "gpt-5-2025-08-07", "text-embedding-3-small"]


async def models(req: EmuRequest) -> Response:
    return json_response({"object": "list", "data": [
        {"id": m, "object": "model", "created": 1744316542, "owned_by": "system"} for m in MODELS]})


def error(req: EmuRequest, kind: str) -> Response:
    return openai_error(kind)


EMULATOR = EmulatedProvider(
    slug="openai",
    routes=[
        Route("POST", "/v1/chat/completions", chat_completions),
        Route("POST", "/v1/responses", responses),
        Route("POST", "/v1/embeddings", embeddings),
        Route("GET", "/v1/models", models),
    ],
    error=error,
    headers=openai_ratelimit_headers,
    credential_hint=r"^sk-(proj-|svcacct-|[A-Za-z0-9]{20})",
)
