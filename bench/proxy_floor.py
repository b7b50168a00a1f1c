"""The floor: the barest streaming passthrough on the same stack (uvicorn + uvloop + httptools, aiohttp client).

    python bench/proxy_floor.py --port 9001 --upstream http://127.0.0.1:9000
"""

from __future__ import annotations

import argparse

import aiohttp
import uvicorn

DROP = {b"host", b"content-length", b"connection", b"transfer-encoding", b"keep-alive"}


def make_app(upstream: str):  # type: ignore[no-untyped-def]
    session: list[aiohttp.ClientSession] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        if not session:
            session.append(aiohttp.ClientSession(auto_decompress=False, connector=aiohttp.TCPConnector(limit=1000)))
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k not in DROP]
        async with session[0].request(scope["method"], upstream + scope["path"], headers=headers, data=body) as r:
            out = [(k.lower(), v) for k, v in r.raw_headers if k.lower() not in DROP]
            await send({"type": "http.response.start", "status": r.status, "headers": out})
            async for chunk in r.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    return app


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    a = ap.parse_args()
    # the same uvicorn settings as `quotawarden proxy` (interfaces/cli/proxy.py): like is compared with like
    uvicorn.run(make_app(a.upstream), host="127.0.0.1", port=a.port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False, server_header=False, date_header=False, proxy_headers=False)
