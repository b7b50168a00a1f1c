"""An OpenAI-shaped upstream that misbehaves on demand, at the socket level, run as a process of its own.

    python -m tests.proxy.faulty_upstream PORT

The ``x-test`` request header picks the fault (none: a normal chat completion with usage and a unique id):

``reset``          read the whole request, then reset the connection (RST) without answering
``close``          read the whole request, then close the connection (FIN) without answering
``stall``          read the whole request, then say nothing for 60 s
``many-headers``   answer 200 with 20,000 headers
``huge-header``    answer 200 with one 200 KB header
``echo-key``       answer 400 quoting the key it received, in the body and in a header
``echo-key-sse``   stream 200 SSE that quotes the key, in 5-byte chunks (the key straddles chunk boundaries)
``truncated``      stream two SSE events, then close without the end of the stream
``truncated-cl``   announce 2,000 bytes, send 100, close
``big``            a 50 MB chat completion (usage at the end), 1 MB first, then the rest after 1 s
``idle-close``     a normal answer on a kept-alive connection, which it then closes 0.1 s later (idle)
``slow-sse``       stream 200 SSE over 8 s (one event a second), usage in the last event

``GET /_seen`` answers how many requests it received per fault (counted once the whole request was read).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from collections import Counter

import orjson

SEEN: Counter[str] = Counter()
BIG = 50 << 20
_IDS = iter(range(1, 1 << 62))


def _chat(content: str, rid: str) -> bytes:
    return orjson.dumps({"id": rid, "object": "chat.completion", "model": "gpt-4o-mini",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 7, "completion_tokens": 11, "total_tokens": 18}})


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    reason = {200: "OK", 400: "Bad Request"}.get(status, "X")
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
            if path == "/_seen":
                data = orjson.dumps(dict(SEEN))
                writer.write(_head(200, [("content-type", "application/json"),
                                         ("content-length", str(len(data)))]) + data)
                await writer.drain()
                continue
            fault = headers.get("x-test", "ok")
            SEEN[fault] += 1
            if not await answer(fault, headers, body, writer):
                return
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def answer(fault: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter) -> bool:
    """Answer one request; False when the connection must end."""
    key = headers.get("authorization", "").removeprefix("Bearer ")
    rid = f"chatcmpl-{next(_IDS)}"
    json_ct = ("content-type", "application/json")
    if fault == "reset":
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False
    if fault == "close":
        return False
    if fault == "stall":
        await asyncio.sleep(60)
        return False
    if fault in ("many-headers", "huge-header"):
        data = _chat("hi", rid)
        extra = ([(f"x-h{i}", "v") for i in range(20_000)] if fault == "many-headers"
                 else [("x-huge", "v" * 200_000)])
        writer.write(_head(200, [json_ct, ("content-length", str(len(data))), *extra]) + data)
        await writer.drain()
        return False
    if fault == "echo-key":
        data = orjson.dumps({"error": {"message": f"Incorrect API key provided: {key}. Check it.",
                                       "type": "invalid_request_error", "code": "invalid_api_key"}})
        writer.write(_head(400, [json_ct, ("content-length", str(len(data))), ("x-received-key", key)]) + data)
        await writer.drain()
        return True
    if fault == "echo-key-sse":
        text = b"".join(b"data: " + orjson.dumps({"id": rid, "object": "chat.completion.chunk",
                                                  "model": "gpt-4o-mini",
                                                  "choices": [{"index": 0, "delta": {"content": f"{key} #{i}"}}]})
                        + b"\n\n" for i in range(3)) + b"data: [DONE]\n\n"
        writer.write(_head(200, [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]))
        for i in range(0, len(text), 5):
            writer.write(_chunk(text[i:i + 5]))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True
    if fault == "truncated":
        writer.write(_head(200, [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]))
        for i in range(2):
            event = {"id": rid, "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                     "choices": [{"index": 0, "delta": {"content": f"t{i}"}}]}
            writer.write(_chunk(b"data: " + orjson.dumps(event) + b"\n\n"))
        await writer.drain()
        return False
    if fault == "slow-sse":
        writer.write(_head(200, [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]))
        for i in range(8):
            event: dict[str, object] = {"id": rid, "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                                        "choices": [{"index": 0, "delta": {"content": f"s{i}"}}]}
            writer.write(_chunk(b"data: " + orjson.dumps(event) + b"\n\n"))
            await writer.drain()
            await asyncio.sleep(1.0)
        last = {"id": rid, "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": [],
                "usage": {"prompt_tokens": 7, "completion_tokens": 8, "total_tokens": 15}}
        writer.write(_chunk(b"data: " + orjson.dumps(last) + b"\n\ndata: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        return True
    if fault == "truncated-cl":
        writer.write(_head(200, [json_ct, ("content-length", "2000")]) + b'{"id": "' + b"x" * 92)
        await writer.drain()
        return False
    if fault == "big":
        start = b'{"id":"' + rid.encode() + b'","object":"chat.completion","model":"gpt-4o-mini","choices":[' \
                b'{"index":0,"message":{"role":"assistant","content":"'
        end = b'"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":11,"total_tokens":18}}'
        filler = BIG - len(start) - len(end)
        writer.write(_head(200, [json_ct, ("content-length", str(BIG))]) + start)
        block = b"x" * (1 << 20)
        writer.write(block)
        await writer.drain()
        await asyncio.sleep(1.0)
        left = filler - len(block)
        while left > 0:
            writer.write(block[:min(left, len(block))])
            left -= len(block)
            await writer.drain()
        writer.write(end)
        await writer.drain()
        return True
    data = _chat("hi", rid)
    writer.write(_head(200, [json_ct, ("content-length", str(len(data))), ("x-request-id", rid)]) + data)
    await writer.drain()
    if fault == "idle-close":
        await asyncio.sleep(0.1)
        return False
    return True


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, limit=1 << 20, backlog=512)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
