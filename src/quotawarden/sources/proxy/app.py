"""The proxy as a raw ASGI callable (no framework on the byte path: measured, middleware costs per request).

Per request: route by the first path segment, identify the caller, check hard budgets, pick an account (pool
mode) or keep the caller's key (pass-through), forward, relay the answer byte for byte, and only then turn
headers and usage into records (the usage record is journaled before the answer's last byte goes out).

A request reaches an upstream at most once unless the upstream provably did not receive it: a pool tries its next
account after a failed connect (the request was never written) or an answer that says it was not served
(401/402/429/529), before any byte has reached the client. A timeout, reset or close after the request was
written is answered 504/502 and never re-sent: it may have been served, and billed. One deadline
(``upstream_timeout``) covers every account a request tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import orjson
from yarl import URL

from quotawarden.clock import Clock, SystemClock
from quotawarden.domain import AccountState, Outcome
from quotawarden.providers._headers import error_type
from quotawarden.providers._quota import error_text
from quotawarden.redact import fingerprint, redact_text
from quotawarden.sources.proxy import dialects as d
from quotawarden.sources.proxy.auth import Auth, Denied, Identity
from quotawarden.sources.proxy.budgets import BudgetGuard
from quotawarden.sources.proxy.capture import Capture
from quotawarden.sources.proxy.exchange import (
    ClientGone,
    Edges,
    KeyMask,
    Receive,
    Request,
    Scope,
    Send,
    host_of,
    map_model,
    read_body,
    respond,
    watch_disconnect,
)
from quotawarden.sources.proxy.model import (
    ActionHook,
    FingerprintLookup,
    ObservedAccount,
    Pricer,
    ProxyConfig,
    Ranker,
    Sink,
    SpendLookup,
    Upstream,
)
from quotawarden.sources.proxy.moves import MoveReporter
from quotawarden.sources.proxy.pools import PoolState
from quotawarden.sources.proxy.queue import WriteQueue
from quotawarden.sources.proxy.routing import Route, Router, split_path
from quotawarden.sources.proxy.throttle import Throttle, ThrottleLookup
from quotawarden.sources.proxy.upstream import REQUEST_DROP, RESPONSE_DROP, auto_skips, open_session
from quotawarden.spec import ProviderSpec

log = logging.getLogger("quotawarden.proxy")

FAILOVER = frozenset({401, 402, 429, 503, 529})
"""Answers that say the request was not served (503 and 529: the provider is overloaded, its documented meaning at
Anthropic, OpenAI and Google): a pool tries its next account (how long the refusing one is held back is
``PoolState.hold``'s rule)."""
_POOL_DROP = REQUEST_DROP | frozenset(d.KEY_HEADERS)  # pool mode: the caller's key never goes upstream
_WHOLE_BODY = 1 << 20  # bodies up to this size are read whole; larger ones stream through (usage from the edges)
_INVALID_HOLD = timedelta(hours=1)
_UNREACHABLE_HOLD = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class Failed:
    """An upstream call that brought no answer."""

    status: int
    message: str
    unsent: bool
    """The upstream provably did not receive the request (connect failed): another account may be tried."""


class ProxyApp:
    def __init__(self, config: ProxyConfig, *, sink: Sink, providers: Mapping[str, ProviderSpec],
                 ranker: Ranker | None = None, pricer: Pricer | None = None, spend: SpendLookup | None = None,
                 fingerprint_lookup: FingerprintLookup | None = None, clock: Clock | None = None,
                 on_action: ActionHook | None = None, throttled: ThrottleLookup | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.router = Router(config, {slug: spec.dialect for slug, spec in providers.items()})
        self.auth = Auth(config.client_tokens)
        self.pools = PoolState(ranker, config.pools, pause_overage=config.pause_overage, report=on_action,
                               overage_default_s=config.limited_default_s)
        self.budgets = BudgetGuard(config.budgets, spend)
        spill = config.spill_dir or Path(tempfile.gettempdir()) / "quotawarden-proxy-spill"
        self.queue = WriteQueue(sink, spill, max_items=config.queue_size, interval_s=config.flush_interval_s,
                                sync_s=config.journal_sync_s)
        ranked = {m.account_id for r in self.router.routes.values() if len(r.members) > 1 for m in r.members}
        self.capture = Capture(providers, self.queue, self.pools, self.budgets, pricer, self.clock.now,
                               ranked=frozenset(ranked))
        self._owners: dict[str, str] = dict(config.known_fingerprints)
        self._key_cache: dict[str, str] = {}
        self._key_headers: dict[str, list[tuple[str, str]]] = {}
        self._lookup = fingerprint_lookup
        self.moves = MoveReporter(on_action)
        self.throttle = Throttle(throttled)
        self._session: aiohttp.ClientSession | None = None
        self._starting: asyncio.Task[None] | None = None

    # -- life cycle (ASGI lifespan, or explicit start/stop when mounted inside another app) ---------------

    async def start(self) -> None:
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        # the first attempt runs on the session's timeouts (no per-request timeout object on the hot path): its
        # connect must not outlast the one deadline either
        self._session = open_session(min(self.config.connect_timeout_s, self.config.upstream_timeout_s),
                                     self.config.upstream_timeout_s)
        await self.queue.start()
        await asyncio.to_thread(self.budgets.load, self.clock.now())
        await self.throttle.start()

    async def stop(self) -> None:
        """Flush queued records (to the store or the spill file) and close upstream connections."""
        if self._starting is not None:
            await self._starting
            await self.throttle.stop()
            await self.queue.stop()
            if self._session is not None:
                await self._session.close()
            self._session, self._starting = None, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._session is None:
                await self.start()
            try:
                await self._http(scope, receive, send)
            except ClientGone:
                return
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- one request ----------------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        seg, rest = split_path(scope.get("raw_path") or scope["path"].encode())
        if seg == "_quotawarden":
            await respond(send, 200, orjson.dumps(self.stats()), [(b"content-type", b"application/json")])
            return
        route = self.router.get(seg)
        if route is None:
            known = ", ".join(sorted(self.router.routes))
            await respond(send, 404, orjson.dumps({"error": {"message": f"quotawarden: no pool or provider "
                                                               f"named {seg!r} (known: {known})"}}),
                           [(b"content-type", b"application/json")])
            return
        body = await read_body(receive)
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        query: bytes = scope.get("query_string", b"")
        ident = self.auth.identify(headers, query, route)
        if isinstance(ident, Denied):
            await self._error(send, route.family, ident.status, ident.message)
            return
        req = Request(route, ident, scope["method"], rest.decode("latin-1"))
        now = self.clock.now()
        over = self.budgets.over(req.consumer, req.project, req.pool, route.provider, now)
        if over is not None:
            await self._error(send, req.fam, 429, f"quotawarden: {over[1]}", code="budget_exceeded",
                              extra=[(b"x-should-retry", b"false")])
            return
        if req.fam == d.OPENAI:
            req.injected, body = d.wants_usage_injection(req.rest, body)
        drop = _POOL_DROP if ident.pool_mode else REQUEST_DROP
        fwd = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers
               if k not in drop and not k.startswith(b"x-quotawarden-")]
        fwd.append(("Accept-Encoding", "identity"))
        req.skip = auto_skips(headers)
        call = (self._pool_mode(req, body, fwd, query, now, receive, send) if ident.pool_mode
                else self._pass_through(req, ident, body, fwd, query, receive, send))
        gate = self.throttle.gate(req.consumer)
        if gate is None:
            await call
        else:  # held back by throttle_consumers: one call at a time
            async with gate:
                await call

    async def _pass_through(self, req: Request, ident: Identity, body: bytes, fwd: list[tuple[str, str]],
                            query: bytes, receive: Receive, send: Send) -> None:
        account_id = await self._owner(req.route.provider, ident.client_key or "", req.route.base)
        target = Upstream(account_id, req.route.provider, req.route.base)
        resp = await self._forward(req, target, body, fwd, query, None)
        if isinstance(resp, Failed):
            await self._error(send, req.fam, resp.status, resp.message)
            return
        await self._relay(req, target, resp, receive, send)

    async def _pool_mode(self, req: Request, body: bytes, fwd: list[tuple[str, str]], query: bytes,
                         now: datetime, receive: Receive, send: Send) -> None:
        if b"key=" in query:
            query = urlencode([(k, v) for k, v in parse_qsl(query.decode("latin-1")) if k != "key"]).encode()
        targets = self._targets(req.route, body, now)
        if not targets:
            free = self.pools.next_free(req.route.members, now, req.route.name)
            wait = max(int((free - now).total_seconds()), 1) if free else int(self.config.limited_default_s)
            await self._error(send, req.fam, 429, f"quotawarden: every account of {req.route.name!r} is limited; "
                              f"the next frees up in {wait}s", extra=[(b"retry-after", str(wait).encode())],
                              code="rate_limit_exceeded")
            return
        deadline = asyncio.get_running_loop().time() + self.config.upstream_timeout_s
        for i, (target, tbody) in enumerate(targets):
            resp = await self._forward(req, target, tbody, fwd + self._keys(target), query, deadline if i else None)
            if isinstance(resp, Failed):
                if resp.unsent and i < len(targets) - 1:
                    log.info("%s: %s not reached; trying the next account", req.route.name, target.account_id)
                    continue
                await self._error(send, req.fam, resp.status, resp.message)
                return
            if resp.status in FAILOVER:
                until = self._limited(target, resp, now, await self._refusal_body(resp))
                if i < len(targets) - 1:
                    self.moves.rotated(req.route, target, targets[i + 1][0], resp.status, until)
                    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                        await resp.read()
                    resp.release()
                    self.queue.put_outcome(target.account_id, resp.status >= 500, now.timestamp())
                    log.info("%s: %s answered %d; trying the next account", req.route.name, target.account_id,
                             resp.status)
                    continue
                if self.config.rotation == "ask":
                    self.moves.propose(req.route, target, resp.status, until, now)
                await self._relay(req, target, resp, receive, send, samples_done=True, mask=self._mask(target))
                return
            await self._relay(req, target, resp, receive, send, mask=self._mask(target))
            return

    @staticmethod
    def _mask(target: Upstream) -> KeyMask | None:
        return KeyMask(target.secret) if target.secret else None

    def _keys(self, target: Upstream) -> list[tuple[str, str]]:
        """The upstream key headers of an account, built once."""
        found = self._key_headers.get(target.account_id)
        if found is None:
            found = self._key_headers[target.account_id] = [
                (k.decode(), v.decode())
                for k, v in d.key_headers(self.router.dialect(target.provider), target.secret or "")]
        return found

    def _targets(self, route: Route, body: bytes, now: datetime) -> list[tuple[Upstream, bytes]]:
        if self.config.rotation != "auto":  # autonomy: the pool stays on its first account, limited or not
            return [(route.members[0], body)] if route.members else []
        out = [(u, body) for u in self.pools.usable(route.members, now, route.name)]
        for name in route.fallback:
            fb = self.router.get(name)
            if fb is None or fb.family != route.family:
                continue
            rewritten = map_model(body, route.model_map)
            out += [(u, rewritten) for u in self.pools.usable(fb.members, now, name)]
        return out

    @staticmethod
    async def _refusal_body(resp: aiohttp.ClientResponse) -> bytes:
        """A 429's body when it is small and whole (its reasons: which quota, per minute or per day); aiohttp keeps
        it, so the relay or the failover reads the same bytes again. Nothing for a stream or an unknown length."""
        length = resp.content_length
        if resp.status != 429 or length is None or length > _WHOLE_BODY \
                or "event-stream" in resp.headers.get("Content-Type", ""):
            return b""
        try:
            return await resp.read()
        except (TimeoutError, aiohttp.ClientError):
            return b""

    def _limited(self, target: Upstream, resp: aiohttp.ClientResponse, now: datetime, body: bytes = b"") -> datetime:
        samples = self.capture.samples(target.provider, target.account_id, resp.status, resp.headers.items(), now)
        samples += self.capture.refusal_samples(target.provider, target.account_id, resp.status, body, now)
        if resp.status == 401:
            outcome, until, reason = Outcome.INVALID, now + _INVALID_HOLD, "upstream answered 401"
        else:  # told apart (domain.classify_limit): only an exhausted account-wide window benches the account
            held = self.pools.hold(resp.status, samples, resp.headers.get("retry-after"), now,
                                   self.config.limited_default_s, error_type(body) if body else None,
                                   error_text(body) if body else "")
            outcome, until, reason = held.outcome, held.until, held.reason
        self.pools.block(target.account_id, until, outcome, reason)
        self.queue.put_state(AccountState(target.account_id, outcome, reason, now, until))
        return until

    async def _forward(self, req: Request, target: Upstream, body: bytes, headers: list[tuple[str, str]],
                       query: bytes, deadline: float | None) -> aiohttp.ClientResponse | Failed:
        """One attempt, never repeated here. ``deadline`` (loop time) bounds a pool's later attempts."""
        url = target.base_url.rstrip("/") + req.rest + ("?" + query.decode("latin-1") if query else "")
        if not self.router.allowed_base(target.base_url):
            return Failed(403, "quotawarden: upstream host is not configured", True)
        assert self._session is not None
        host = host_of(url)
        try:
            if deadline is None:
                return await self._session.request(req.method, URL(url, encoded=True), headers=headers, data=body,
                                                   allow_redirects=False, skip_auto_headers=req.skip)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return Failed(504, f"quotawarden: no account of {req.route.name!r} answered within "
                                   f"{self.config.upstream_timeout_s:g}s", False)
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(self.config.connect_timeout_s, left),
                                            sock_read=min(self.config.upstream_timeout_s, left))
            return await self._session.request(req.method, URL(url, encoded=True), headers=headers, data=body,
                                               allow_redirects=False, skip_auto_headers=req.skip, timeout=timeout)
        except aiohttp.ConnectionTimeoutError:
            self._unreachable(req, target, "connect timed out")
            return Failed(504, f"quotawarden: upstream {host} is unreachable (connecting timed out)", True)
        except TimeoutError:
            self._failed_call(target)
            return Failed(504, f"quotawarden: upstream {host} timed out (the request was sent; not re-sent)", False)
        except aiohttp.ClientConnectorError as exc:
            self._unreachable(req, target, redact_text(str(exc)))
            return Failed(502, f"quotawarden: upstream {host} is unreachable (connecting failed)", True)
        except aiohttp.ClientResponseError as exc:
            self._failed_call(target)
            log.warning("upstream %s sent an invalid answer: %s", host, redact_text(str(exc))[:200])
            return Failed(502, f"quotawarden: upstream {host} sent an invalid answer (too many headers, headers "
                               "too large, or malformed)", False)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionError):
            self._failed_call(target)
            return Failed(502, f"quotawarden: upstream {host} closed the connection after receiving the request "
                               "(not re-sent: it may have been served)", False)
        except (aiohttp.ClientError, OSError) as exc:
            self._failed_call(target)
            log.warning("upstream %s failed: %s", host, redact_text(str(exc))[:200])
            return Failed(502, f"quotawarden: upstream {host} failed ({type(exc).__name__})", False)

    def _failed_call(self, target: Upstream) -> None:
        self.queue.put_outcome(target.account_id, True, self.clock.now().timestamp())

    def _unreachable(self, req: Request, target: Upstream, why: str) -> None:
        """Connecting failed: counted as a failure; a pool member is tried last for a few seconds (not a rate
        limit: it is never skipped for it, and the pool never answers 429 because of it)."""
        log.warning("upstream %s unreachable: %s", host_of(target.base_url), why)
        now = self.clock.now()
        self.queue.put_outcome(target.account_id, True, now.timestamp())
        if req.route.kind == "pool":
            self.pools.block(target.account_id, now + _UNREACHABLE_HOLD, Outcome.UNREACHABLE, "unreachable")

    async def _relay(self, req: Request, target: Upstream, resp: aiohttp.ClientResponse, receive: Receive,
                     send: Send, *, samples_done: bool = False, mask: KeyMask | None = None) -> None:
        status = resp.status
        raw = resp.raw_headers
        out = [(k.lower(), v) for k, v in raw if k.lower() not in RESPONSE_DROP]
        if mask is not None:
            out = mask.headers(out)
        is_sse = "event-stream" in resp.headers.get("Content-Type", "")
        reader = d.UsageReader(req.fam)
        length = resp.content_length
        if not is_sse and length is not None and length <= _WHOLE_BODY:
            try:
                body = await resp.read()
            except (TimeoutError, aiohttp.ClientError):
                resp.release()
                self._failed_call(target)
                await self._error(send, req.fam, 502, f"quotawarden: upstream {host_of(target.base_url)} closed "
                                                      "the connection mid-body")
                return
            resp.release()
            if status < 300:
                reader.feed_body(body)
            self._record(req, target, status, raw, reader, samples_done)  # journaled before the answer goes out
            await send({"type": "http.response.start", "status": status, "headers": out})
            await send({"type": "http.response.body", "body": body if mask is None else mask.whole(body)})
            return
        if length is None:
            out = [(k, v) for k, v in out if k != b"content-length"]
        await send({"type": "http.response.start", "status": status, "headers": out})
        record = functools.partial(self._record, req, target, status, raw, reader, samples_done)
        complete = await self._stream(req, resp, reader, is_sse, receive, send, mask, record)
        if not complete:
            log.info("%s stream ended early (%s)", req.route.name,
                     "client left" if req.client_gone else "upstream closed")
            record()

    def _record(self, req: Request, target: Upstream, status: int, raw: Any, reader: d.UsageReader,
                samples_done: bool) -> None:
        now = self.clock.now()
        self.queue.put_outcome(target.account_id, status >= 500, now.timestamp())
        if not samples_done:
            self.capture.seen(target.provider, target.account_id, status, raw, now)
        self.capture.usage(reader, provider=target.provider, account_id=target.account_id, consumer=req.consumer,
                           project=req.project, pool=req.pool, model_hint=req.model_hint, now=now)

    async def _stream(self, req: Request, resp: aiohttp.ClientResponse, reader: d.UsageReader, is_sse: bool,
                      receive: Receive, send: Send, mask: KeyMask | None, record: Any) -> bool:
        """Chunks go out as they arrive; usage is read from them as they pass and recorded (journaled) before
        the last byte goes out. False if the stream broke (then nothing was recorded yet)."""
        scanner = d.SseScanner(reader)
        strip = d.UsageChunkStripper(scanner) if req.injected and is_sse else None
        kept: list[bytes] | None = []
        kept_size = 0
        edges: Edges | None = None
        # with a Content-Length, the client holds the whole answer once its last byte is written: that byte waits
        # until the record is journaled (a chunked answer's end is the final empty chunk, sent after it anyway)
        left = resp.content_length
        held = b""
        watcher = asyncio.ensure_future(watch_disconnect(receive, resp, req))
        try:
            async for chunk in resp.content.iter_any():
                data = strip.feed(chunk) if strip is not None else chunk
                if mask is not None:
                    data = mask.feed(data)
                if left is not None:
                    left -= len(chunk)
                    if left <= 0 and data:
                        data, held = data[:-1], data[-1:]
                if data:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                if strip is not None:
                    continue
                if is_sse:
                    scanner.feed(chunk)
                elif kept is not None:
                    kept.append(chunk)
                    kept_size += len(chunk)
                    if kept_size > _WHOLE_BODY:  # too large to keep: only its start and end
                        edges = Edges()
                        edges.feed(b"".join(kept))
                        kept = None
                elif edges is not None:
                    edges.feed(chunk)
        except (TimeoutError, aiohttp.ClientError, ConnectionError):
            return False
        finally:
            watcher.cancel()
            resp.release()
        if req.client_gone:
            return False
        tail = strip.flush() if strip is not None else b""
        if mask is not None:
            tail = mask.feed(tail) + mask.flush()
        tail = held + tail
        scanner.close()
        if resp.status < 300:
            if kept:
                reader.feed_body(b"".join(kept))
            elif edges is not None:
                edges.feed_usage(reader)
        record()
        await send({"type": "http.response.body", "body": tail, "more_body": False})
        return True

    async def _owner(self, provider: str, key: str, base: str) -> str:
        """The account that owns a pass-through key (by fingerprint), or an observed one made for it."""
        if (known := self._key_cache.get(key)) is not None:
            return known
        fp = fingerprint(key)
        owner = self._owners.get(fp)
        if owner is None and self._lookup is not None:
            with contextlib.suppress(Exception):
                owner = await asyncio.to_thread(self._lookup, fp)
        if owner is None:
            owner = f"observed-{provider}-{fp[:10]}"
            self.queue.put_observed(ObservedAccount(owner, provider, fp, base))
        self._owners[fp] = owner
        self._key_cache[key] = owner
        return owner

    async def _error(self, send: Send, fam: str, status: int, message: str, *, code: str | None = None,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
        headers = [(b"content-type", b"application/json"), *(extra or [])]
        await respond(send, status, d.error_body(fam, status, message, code), headers)

    def stats(self) -> dict[str, Any]:
        q = self.queue.stats
        return {"queue": {"queued": q.queued, "written": q.written, "spilled": q.spilled, "replayed": q.replayed,
                          "sink_failures": q.sink_failures, "bad_spill_lines": q.bad_spill_lines,
                          "journaled": q.journaled, "journal_failures": q.journal_failures,
                          "last_error": redact_text(q.last_error)},
                "usage_events": self.capture.usage_events, "header_errors": self.capture.header_errors,
                "stale_connections_dropped": getattr(self._session.connector if self._session else None,
                                                     "stale_dropped", 0),
                "blocked": {k: {"until": v.until.isoformat(), "outcome": v.outcome.value}
                            for k, v in self.pools.blocked.items() if v.until > self.clock.now()}}
