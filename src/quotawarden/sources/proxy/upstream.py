"""The upstream client: one aiohttp session (measured: httpx's pool collapses under concurrency here)."""

from __future__ import annotations

import aiohttp

# Never forwarded in either direction (RFC 9110 section 7.6.1), plus what each side recomputes itself.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
                        b"trailer", b"trailers", b"transfer-encoding", b"upgrade"})
REQUEST_DROP = HOP_BY_HOP | {b"host", b"content-length", b"accept-encoding"}
RESPONSE_DROP = HOP_BY_HOP


def open_session(connect_timeout_s: float, read_timeout_s: float) -> aiohttp.ClientSession:
    """Bytes in, bytes out: no decompression, no cookies, no headers of aiohttp's own."""
    connector = aiohttp.TCPConnector(limit=1000, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s)
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept", "Content-Type"),
    )
