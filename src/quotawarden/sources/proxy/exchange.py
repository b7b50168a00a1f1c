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
