"""Agents' status questions answered at the door, before routing: the one request an agent sends many times.

``GET /v1/status`` and ``GET /v1/status/{own id}`` with a known instance key are answered from the status board
(bytes rendered once a second). Anything else - no key, a wrong key, the admin, someone else's id, a board not
built yet or invalidated - goes on to the routers, which give the same answer or the proper error, so the
routes stay the single definition of the API (and of its OpenAPI document).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from quotawarden.instances import hash_key
from quotawarden.interfaces.api.state import ApiState

PREFIX = "/v1/status"
_JSON = (b"content-type", b"application/json")


class StatusFastPath:
    def __init__(self, app: ASGIApp, st: ApiState) -> None:
        self.app, self.st = app, st

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX) and scope["method"] == "GET":
            body = self.answer(scope)
            if body is not None:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-length", b"%d" % len(body)), _JSON]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def answer(self, scope: Scope) -> bytes | None:
        path: str = scope["path"]
        wanted = None
        if path != PREFIX:
            wanted = path[len(PREFIX) + 1:] if path[len(PREFIX)] == "/" else ""
            if not wanted or "/" in wanted:
                return None
        key = next((v for k, v in scope["headers"] if k == b"x-api-key"), None)
        board = self.st.board.peek() if key else None
        if board is None or key is None:
            return None
        inst = board.by_hash.get(hash_key(key.decode("latin-1")))  # as Starlette decodes header values
        if inst is None or (wanted is not None and wanted != inst.id):
            return None
        return board.answers.get(inst.id)
