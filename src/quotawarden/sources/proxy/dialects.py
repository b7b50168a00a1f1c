"""The three API dialects the proxy speaks: where keys go, how errors look, where usage hides.

Each provider declares its dialect (``ProviderSpec.dialect``: ``anthropic``, ``gemini`` or ``openai``, the last
covering OpenAI and every OpenAI-compatible API); this module only implements them. Usage is read from a whole JSON
body or fed event by event from a stream.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

ANTHROPIC, OPENAI, GEMINI = "anthropic", "openai", "gemini"  # the values of quotawarden.spec.Dialect

# Headers that may carry a provider key or a client token; all are removed before a key is injected.
KEY_HEADERS = (b"authorization", b"x-api-key", b"x-goog-api-key", b"api-key")


def key_headers(dialect: str, secret: str) -> list[tuple[bytes, bytes]]:
    if dialect == ANTHROPIC:
        if secret.startswith("sk-ant-oat"):  # a Claude subscription OAuth token
            return [(b"authorization", b"Bearer " + secret.encode()), (b"anthropic-beta", b"oauth-2025-04-20")]
        return [(b"x-api-key", secret.encode())]
    if dialect == GEMINI:
        return [(b"x-goog-api-key", secret.encode())]
    return [(b"authorization", b"Bearer " + secret.encode())]


_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 429: "rate_limit_error", 502: "api_error", 504: "timeout_error"}
_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                 404: "invalid_request_error", 429: "insufficient_quota", 502: "server_error", 504: "timeout"}
_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  429: "RESOURCE_EXHAUSTED", 502: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def error_body(fam: str, status: int, message: str, code: str | None = None) -> bytes:
    """An error the client's SDK parses as if the provider had sent it."""
    if fam == ANTHROPIC:
        return orjson.dumps({"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"),
                                                        "message": message}})
    if fam == GEMINI:
        return orjson.dumps({"error": {"code": status, "message": message,
                                       "status": _GEMINI_STATUS.get(status, "INTERNAL")}})
    kind = _OPENAI_TYPES.get(status, "server_error")
    return orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": code or kind}})


class UsageReader:
    """Accumulates token usage from a body or from stream events (the last word wins, as the APIs define)."""

    __slots__ = ("cache_read", "cache_write", "cache_write_1h", "fam", "input", "model", "output", "reasoning",
                 "request_id", "seen")

    def __init__(self, fam: str) -> None:
        self.fam = fam
        self.model = ""
        self.request_id: str | None = None
        self.input = self.output = self.cache_write = self.cache_write_1h = self.cache_read = self.reasoning = 0
        self.seen = False

    def feed(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        if self.fam == ANTHROPIC:
            self._anthropic(obj)
        elif self.fam == GEMINI:
            self._gemini(obj)
        else:
            self._openai(obj)

    def feed_body(self, body: bytes) -> None:
        try:
            self.feed(orjson.loads(body))
        except orjson.JSONDecodeError:
            return

    def _model(self, obj: dict[str, Any], key: str = "model") -> None:
        m = obj.get(key)
        if isinstance(m, str) and m:
            self.model = m

    def _id(self, obj: dict[str, Any], key: str = "id") -> None:
        v = obj.get(key)
        if isinstance(v, str) and v and self.request_id is None:
            self.request_id = v

    def _anthropic(self, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        if kind == "message_start":
            msg = obj.get("message") or {}
            self._model(msg)
            self._id(msg)
            self._anthropic_usage(msg.get("usage"))
        elif kind in ("message_delta", "message"):
            self._model(obj)
            self._id(obj)
            self._anthropic_usage(obj.get("usage"))

    def _anthropic_usage(self, u: Any) -> None:
        if not isinstance(u, dict):
            return
        self.seen = True
        self.input = _int(u.get("input_tokens"), self.input)
        self.output = _int(u.get("output_tokens"), self.output)
        self.cache_read = _int(u.get("cache_read_input_tokens"), self.cache_read)
        self.cache_write = _int(u.get("cache_creation_input_tokens"), self.cache_write)
        split = u.get("cache_creation")
        if isinstance(split, dict):
            self.cache_write_1h = _int(split.get("ephemeral_1h_input_tokens"), self.cache_write_1h)
        details = u.get("output_tokens_details")
        if isinstance(details, dict):
            self.reasoning = _int(details.get("thinking_tokens"), self.reasoning)

    def _openai(self, obj: dict[str, Any]) -> None:
        if obj.get("type") == "response.completed" and isinstance(obj.get("response"), dict):
            obj = obj["response"]
        self._model(obj)
        self._id(obj)
        u = obj.get("usage")
        if not isinstance(u, dict):
            return
        self.seen = True
        if "prompt_tokens" in u:  # chat completions, embeddings
            cached = _int(_get(u, "prompt_tokens_details", "cached_tokens"), 0)
            written = _int(_get(u, "prompt_tokens_details", "cache_write_tokens"), 0)
            self.input = max(_int(u.get("prompt_tokens"), 0) - cached - written, 0)
            self.cache_read, self.cache_write = cached, written
            self.output = _int(u.get("completion_tokens"), 0)
            self.reasoning = _int(_get(u, "completion_tokens_details", "reasoning_tokens"), 0)
        else:  # responses API
            cached = _int(_get(u, "input_tokens_details", "cached_tokens"), 0)
            written = _int(_get(u, "input_tokens_details", "cache_write_tokens"), 0)
            self.input = max(_int(u.get("input_tokens"), 0) - cached - written, 0)
            self.cache_read, self.cache_write = cached, written
            self.output = _int(u.get("output_tokens"), 0)
            self.reasoning = _int(_get(u, "output_tokens_details", "reasoning_tokens"), 0)

    def _gemini(self, obj: dict[str, Any]) -> None:
        self._model(obj, "modelVersion")
        self._id(obj, "responseId")
        u = obj.get("usageMetadata")
        if not isinstance(u, dict):
            return
        self.seen = True
        cached = _int(u.get("cachedContentTokenCount"), 0)
        self.input = max(_int(u.get("promptTokenCount"), 0) + _int(u.get("toolUsePromptTokenCount"), 0) - cached, 0)
        self.cache_read = cached
        self.reasoning = _int(u.get("thoughtsTokenCount"), 0)
        self.output = _int(u.get("candidatesTokenCount"), 0) + self.reasoning


def _get(d: dict[str, Any], *path: str) -> Any:
    node: Any = d
    for p in path:
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


def _int(value: Any, default: int) -> int:
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class SseScanner:
    """Reads usage from SSE ``data:`` lines as chunks pass; lines without usage are never parsed."""

    __slots__ = ("_carry", "reader")

    def __init__(self, reader: UsageReader) -> None:
        self.reader = reader
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        end = chunk.rfind(b"\n")
        if end < 0:
            self._carry += chunk
            return
        data = self._carry + chunk[:end] if self._carry else chunk[:end]
        self._carry = chunk[end + 1:]
        if not _marked(data):
            return
        for line in data.split(b"\n"):
            if line.startswith(b"data:") and _marked(line):
                try:
                    self.reader.feed(orjson.loads(line[5:]))
                except orjson.JSONDecodeError:
                    continue

    def close(self) -> None:
        if self._carry:
            self.feed(b"\n")


def _marked(data: bytes) -> bool:
    """Could these bytes carry usage? (``message_start`` and ``response.completed`` events do.)"""
    return b"usage" in data or b"message_start" in data or b"response.completed" in data


class UsageChunkStripper:
    """For an OpenAI stream where the proxy asked for usage itself: hide that extra chunk from the client.

    Works on whole SSE events (split at blank lines), so it holds back at most one partial event.
    """

    __slots__ = ("_buf", "scanner")

    def __init__(self, scanner: SseScanner) -> None:
        self.scanner = scanner
        self._buf = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._buf + chunk
        end = data.rfind(b"\n\n")
        if end < 0:
            self._buf = data
            return b""
        self._buf = data[end + 2:]
        events = data[:end + 2] if self._buf else data
        marks = events.count(b'"usage"')
        if not marks:
            return events
        for pattern in _NULL_USAGE:  # ordinary chunks carry "usage":null: drop those in one pass, no parsing
            if (n := events.count(pattern)) > 0:
                events = events.replace(pattern, b"")
                marks -= n
        return self._cut_usage_events(events) if marks else events

    def _cut_usage_events(self, events: bytes) -> bytes:
        """Remove the usage-only events (fed to the scanner instead); only these are parsed."""
        out, pos = [], 0
        at = events.find(b'"usage"')
        while at >= 0:
            before = events.rfind(b"\n\n", pos, at)
            start = before + 2 if before >= 0 else pos
            stop = events.find(b"\n\n", at)
            stop = len(events) if stop < 0 else stop + 2
            usage = _usage_only(events[start:stop])
            if usage is not None:
                out.append(events[pos:start])
                self.scanner.reader.feed(usage)
                pos = stop
            at = events.find(b'"usage"', stop)
        out.append(events[pos:])
        return b"".join(out)

    def flush(self) -> bytes:
        rest, self._buf = self._buf, b""
        return rest


def _usage_only(event: bytes) -> dict[str, Any] | None:
    """The parsed chunk when an event carries only usage (``"choices": []``), else None."""
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                obj = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                return None
            if isinstance(obj, dict) and obj.get("choices") == [] and isinstance(obj.get("usage"), dict):
                return obj
            return None
    return None


_NULL_USAGE = (b',"usage":null', b', "usage": null')

_STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')


def wants_usage_injection(path: str, body: bytes) -> tuple[bool, bytes]:
    """An OpenAI chat stream without ``include_usage``: ask for it, and report that we did."""
    if not path.endswith("/chat/completions") or _STREAM_TRUE.search(body) is None:  # most bodies: no parse
        return False, body
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False, body
    if not isinstance(req, dict) or req.get("stream") is not True:
        return False, body
    opts = req.get("stream_options")
    if isinstance(opts, dict) and opts.get("include_usage") is not None:
        return False, body
    req["stream_options"] = {**(opts if isinstance(opts, dict) else {}), "include_usage": True}
    return True, orjson.dumps(req)
