"""One call through the proxy at the ASGI level: what it remembers, reading the request, answering, noticing a
client that leaves."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from quotawarden.sources.proxy import dialects as d
from quotawarden.sources.proxy.auth import Identity
from quotawarden.sources.proxy.routing import Route

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

class ClientGone(Exception):
    pass


class Request:
    """What one call needs to remember between forwarding and capture."""

    __slots__ = ("client_gone", "consumer", "fam", "injected", "method", "model_hint", "pool", "project",
                 "rest", "route", "skip")

    def __init__(self, route: Route, ident: Identity, method: str, rest: str) -> None:
        self.route = route
        self.fam = route.family
        self.consumer = ident.consumer
        self.project = ident.project
        self.pool = route.name if route.kind == "pool" else None
        self.method = method
        self.rest = rest
        self.injected = False
        self.client_gone = False
        self.skip: tuple[str, ...] | None = None
        self.model_hint = gemini_model(rest) if self.fam == d.GEMINI else ""


async def read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientGone
        parts.append(msg.get("body", b""))
        if not msg.get("more_body"):
            return parts[0] if len(parts) == 1 else b"".join(parts)


async def watch_disconnect(receive: Receive, resp: aiohttp.ClientResponse, req: Request) -> None:
    """A client that leaves mid-stream cancels the upstream request (its connection is closed)."""
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            req.client_gone = True
            resp.close()
            return


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def host_of(url: str) -> str:
    return URL(url).host or "?"


def gemini_model(path: str) -> str:
    _, _, after = path.partition("/models/")
    return after.split(":", 1)[0]


def map_model(body: bytes, model_map: Mapping[str, str]) -> bytes:
    if not model_map or not body:
        return body
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if isinstance(obj, dict) and obj.get("model") in model_map:
        obj["model"] = model_map[obj["model"]]
        return orjson.dumps(obj)
    return body


class KeyMask:
    """Masks the upstream key a pool injected wherever the upstream echoes it back (error bodies of gateways and
    self-hosted servers often quote the key they received), in headers and in bodies, streamed ones too.

    The mask keeps the length (``sk-`` + stars + the last 4), so a Content-Length stays true. A key split across
    two chunks is caught: the end of a chunk that could be the start of the key is held back until the next one.
    """

    __slots__ = ("_carry", "_ends", "key", "masked")

    def __init__(self, key: str) -> None:
        self.key = key.encode("latin-1", "replace")
        n = len(self.key)
        self.masked = (self.key[:3] + b"*" * (n - 7) + self.key[-4:]) if n >= 12 else b"*" * n
        self._carry = b""
        self._ends = frozenset(self.key[:-1])
        """Bytes a chunk can end with and still end in a start of the key (an SSE event ends in a newline: none)."""

    def headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        key = self.key
        if not any(key in v for _, v in headers):
            return headers
        return [(k, v.replace(key, self.masked)) for k, v in headers]

    def whole(self, body: bytes) -> bytes:
        return body.replace(self.key, self.masked) if self.key in body else body

    def feed(self, chunk: bytes) -> bytes:
        data = self._carry + chunk if self._carry else chunk
        key = self.key
        if key in data:
            data = data.replace(key, self.masked)
        if not data or data[-1] not in self._ends:
            self._carry = b""
            return data
        hold = self._held(data)
        self._carry = data[len(data) - hold:] if hold else b""
        return data[:len(data) - hold] if hold else data

    def flush(self) -> bytes:
        rest, self._carry = self._carry, b""
        return rest

    def _held(self, data: bytes) -> int:
        """Length of the longest end of ``data`` that is a start of the key."""
        key = self.key
        first = key[:1]
        lo = max(0, len(data) - len(key) + 1)
        i = data.rfind(first, lo)
        while i >= 0:
            if key.startswith(data[i:]):
                longest = len(data) - i
                j = data.rfind(first, lo, i)  # an earlier start would be longer still
                while j >= 0:
                    if key.startswith(data[j:]):
                        longest = len(data) - j
                    j = data.rfind(first, lo, j)
                return longest
            i = data.rfind(first, lo, i)
        return 0


_EDGE = 64 << 10  # how much of a large body's start and end is kept to read its usage


class Edges:
    """The start and end of a body too large to keep whole: enough to read its usage (at the end in every API
    family) and its model (at the start)."""

    __slots__ = ("head", "tail")

    def __init__(self) -> None:
        self.head = b""
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < _EDGE:
            self.head += chunk[:_EDGE - len(self.head)]
        self.tail = (self.tail + chunk)[-_EDGE:] if len(chunk) < _EDGE else chunk[-_EDGE:]

    def feed_usage(self, reader: d.UsageReader) -> None:
        obj: dict[str, Any] = {}
        for name in ("usage", "usageMetadata"):
            value = _value_after(self.tail, self.tail.rfind(b'"' + name.encode() + b'"'), len(name) + 2)
            if isinstance(value, dict):
                obj[name] = value
        if not obj:
            return
        for name in ("type", "object", "id", "model", "modelVersion", "responseId"):
            i = self.head.find(b'"' + name.encode() + b'"')
            value = _value_after(self.head, i, len(name) + 2)
            if isinstance(value, str):
                obj[name] = value
        reader.feed(obj)


def _value_after(buf: bytes, i: int, skip: int) -> Any:
    """The JSON value after ``"name":`` at ``i`` (a string or a balanced object), or None."""
    if i < 0:
        return None
    j = i + skip
    while j < len(buf) and buf[j] in b" \t\r\n:":
        j += 1
    if j >= len(buf):
        return None
    if buf[j:j + 1] == b'"':
        end = j + 1
        while True:
            end = buf.find(b'"', end)
            if end < 0:
                return None
            if buf[end - 1:end] != b"\\":
                break
            end += 1
        raw = buf[j:end + 1]
    elif buf[j:j + 1] == b"{":
        depth, k, in_str = 0, j, False
        while k < len(buf):
            c = buf[k]
            if in_str:
                if c == 0x5C:  # backslash
                    k += 1
                elif c == 0x22:
                    in_str = False
            elif c == 0x22:
                in_str = True
            elif c == 0x7B:
                depth += 1
            elif c == 0x7D:
                depth -= 1
                if depth == 0:
                    break
            k += 1
        else:
            return None
        raw = buf[j:k + 1]
    else:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
