"""Who is calling: a proxy client token (pool mode), or a provider key of the caller's own (pass-through).

Client tokens and upstream keys never mix: a client token is never sent upstream, an upstream key never reaches a
client. With no client tokens configured the proxy only listens on loopback, and any caller there may use pools.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl

from quotawarden.sources.proxy.model import ClientToken
from quotawarden.sources.proxy.routing import Route

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


@dataclass(frozen=True, slots=True)
class Identity:
    pool_mode: bool
    consumer: str | None = None
    project: str | None = None
    client_key: str | None = None
    """The caller's own provider key (pass-through mode only)."""


@dataclass(frozen=True, slots=True)
class Denied:
    status: int
    message: str


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Auth:
    def __init__(self, tokens: tuple[ClientToken, ...]) -> None:
        self._tokens = {_digest(t.token): t for t in tokens}

    @property
    def required(self) -> bool:
        return bool(self._tokens)

    def _lookup(self, value: str | None) -> ClientToken | None:
        if not value or not self._tokens:
            return None
        d = _digest(value)
        for known, tok in self._tokens.items():  # constant time per candidate
            if hmac.compare_digest(known, d):
                return tok
        return None

    def identify(self, headers: list[tuple[bytes, bytes]], query: bytes, route: Route) -> Identity | Denied:
        presented = qw_token = agent = project = None
        for name, value in headers:
            if name == b"x-api-key" or name == b"x-goog-api-key" or name == b"api-key":
                presented = presented or value.decode("latin-1")
            elif name == b"authorization":
                v = value.decode("latin-1")
                presented = presented or (v[7:] if v[:7].lower() == "bearer " else v)
            elif name == b"x-quotawarden-token":
                qw_token = value.decode("latin-1")
            elif name == b"x-quotawarden-agent":
                agent = value.decode("utf-8", "replace")
            elif name == b"x-quotawarden-project":
                project = value.decode("utf-8", "replace")
        if presented is None and b"key=" in query:
            presented = dict(parse_qsl(query.decode("latin-1"))).get("key")
        as_key = self._lookup(presented)
        tok = as_key or self._lookup(qw_token)
        if self.required and tok is None:
            return Denied(401, "quotawarden: a client token is required (as the API key, or in X-Quotawarden-Token)")
        if tok is not None and tok.pools and route.name not in tok.pools:
            return Denied(403, f"quotawarden: this client token may not use {route.name!r}")
        consumer = tok.consumer if tok else agent
        project = (tok.project if tok else None) or project
        if route.kind == "pool" or as_key is not None:
            if not route.members:
                return Denied(503, f"quotawarden: {route.name!r} has no account with a usable key")
            return Identity(True, consumer, project)
        if not presented:
            return Denied(401, f"quotawarden: no API key for {route.name!r} (pass-through mode forwards your own key)")
        return Identity(False, consumer, project, presented)
