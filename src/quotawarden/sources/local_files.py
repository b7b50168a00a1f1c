"""An httpx transport that answers ``file://`` requests from the local disk, read-only, so local-state probes
(OpenCode, Cline, Antigravity) stay sans-I/O like every other probe: they yield ``GET file://localhost/path``
(httpx takes a host-less ``file:///`` URL for a relative one) and get an ``HttpResponse`` back. Everything else
goes to the wrapped transport: ``ProbeRunner(clock, transport=LocalFileTransport())``.

* a file: 200 with its bytes (``?tail=N``: only the last N bytes); missing: 404; unreadable: 403.
* a directory: 200 with ``{"entries": [{"path", "size", "mtime", "dir"}]}``, recursive to ``?depth=N``
  (default 1), at most 5000 entries, paths relative to the directory.
* ``qw-mcp://localhost/<settings file>?server=NAME&spawn=0|1``: whether that MCP server answers, always a 200
  ``{"state", "detail", "type"}`` (see ``quotawarden.sources.mcp_check``).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

import httpx
import orjson

MAX_ENTRIES = 5000
MAX_BYTES = 64 * 1024 * 1024


def _listing(root: Path, depth: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    stack = [(root, 0)]
    while stack and len(out) < MAX_ENTRIES:
        folder, level = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            is_dir = e.is_dir(follow_symlinks=False)
            out.append({"path": str(Path(e.path).relative_to(root)), "size": st.st_size, "mtime": st.st_mtime,
                        "dir": is_dir})
            if is_dir and level + 1 < depth:
                stack.append((Path(e.path), level + 1))
    return out[:MAX_ENTRIES]


def read_local(request: httpx.Request) -> httpx.Response:
    path = Path(unquote(request.url.path))
    params = request.url.params
    if request.method != "GET":
        return httpx.Response(405, request=request)
    if path.is_dir():
        body = orjson.dumps({"entries": _listing(path, max(1, int(params.get("depth", "1"))))})
        return httpx.Response(200, content=body, headers={"content-type": "application/json"}, request=request)
    try:
        size = path.stat().st_size
        tail = min(int(params.get("tail", str(MAX_BYTES))), MAX_BYTES)
        with path.open("rb") as fh:
            if size > tail:
                fh.seek(size - tail)
            data = fh.read(tail)
    except FileNotFoundError:
        return httpx.Response(404, request=request)
    except OSError:
        return httpx.Response(403, request=request)
    return httpx.Response(200, content=data, request=request)


class LocalFileTransport(httpx.AsyncBaseTransport):
    """``file://`` from disk; any other scheme through ``inner`` (default: a normal HTTP transport)."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "file" and request.url.host in ("", "localhost"):
            return read_local(request)
        if request.url.scheme == "qw-mcp" and request.url.host in ("", "localhost"):
            from quotawarden.sources.mcp_check import check

            params = request.url.params
            found = await check(Path(unquote(request.url.path)), params.get("server", ""), params.get("spawn") == "1")
            return httpx.Response(200, content=orjson.dumps(found), headers={"content-type": "application/json"},
                                  request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
