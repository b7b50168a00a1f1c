"""The upstream client: one aiohttp session (measured: httpx's pool collapses under concurrency here)."""

from __future__ import annotations

import select
from typing import Any

import aiohttp

# Never forwarded in either direction (RFC 9110 section 7.6.1), plus what each side recomputes itself.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
                        b"trailer", b"trailers", b"transfer-encoding", b"upgrade"})
REQUEST_DROP = HOP_BY_HOP | {b"host", b"content-length", b"accept-encoding"}
RESPONSE_DROP = HOP_BY_HOP
# Headers aiohttp would add of its own when the caller sent none (Accept-Encoding the proxy always sets itself).
_AUTO = ((b"user-agent", "User-Agent"), (b"accept", "Accept"), (b"content-type", "Content-Type"))


def auto_skips(headers: list[tuple[bytes, bytes]]) -> tuple[str, ...] | None:
    """The aiohttp auto headers to suppress for this request: those the caller did not send.

    Per request rather than on the session: a session-wide ``skip_auto_headers`` sends every request down
    aiohttp's slow header path (profiled: ~2% of the proxy's CPU), while callers almost always send all three.
    """
    names = {k for k, _ in headers}
    missing = tuple(title for low, title in _AUTO if low not in names)
    return missing or None


class Connector(aiohttp.TCPConnector):
    """Never writes a request on a pooled connection the upstream has already given up.

    An idle keep-alive connection has nothing to read; if it is readable when taken from the pool, the upstream
    closed it (FIN, RST, TLS close_notify) and the event loop has not noticed yet. Such a connection is dropped
    before the request is written (a ``poll`` call per reused connection), so the request goes out on another one
    and nothing is ever sent twice: the proxy never re-sends a request that may have reached the upstream.
    """

    stale_dropped = 0

    async def _get(self, key: Any, traces: Any) -> Any:
        while True:
            conn = await super()._get(key, traces)
            if conn is None or not _readable(conn.protocol):
                return conn
            self.stale_dropped += 1
            conn.close()


def _readable(proto: Any) -> bool:
    transport = getattr(proto, "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return False
    try:
        p = select.poll()
        p.register(sock.fileno(), select.POLLIN | select.POLLPRI)
        return bool(p.poll(0))
    except (OSError, ValueError):
        return True


def open_session(connect_timeout_s: float, read_timeout_s: float) -> aiohttp.ClientSession:
    """Bytes in, bytes out: no decompression, no cookies, no headers of aiohttp's own (see :func:`auto_skips`)."""
    # Idle connections are kept 4 s: below the 5 s keep-alive of uvicorn, gunicorn and Node servers, so the proxy
    # is not the one writing a request just as such an upstream closes the connection (a request that, having
    # maybe reached it, could not be re-sent).
    connector = Connector(limit=1000, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=4)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s)
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
    )
