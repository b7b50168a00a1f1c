"""Agents' status questions answered at the door, before routing: the one request an agent sends many times.

``GET /v1/status`` and ``GET /v1/status/{own id}`` with a known instance key (or the admin token as a bearer)
are answered from the status board (bytes rendered once a second). Anything else - no key, a wrong key, someone
else's id, another way of sending the token, a board not built yet or invalidated - goes on to the routers,
which give the same answer or the proper error, so the routes stay the single definition of the API (and of its
OpenAPI document).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from quotawarden.app.instances import hash_key
from quotawarden.interfaces.api.auth import is_admin
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
        key = token = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                key = value.decode("latin-1")  # as Starlette decodes header values
            elif name == b"authorization" and value[:7].lower() == b"bearer ":
                token = value[7:].strip().decode("latin-1")
        if key is not None:
            return self._instance(key, wanted)
        if token is not None and is_admin(self.st, token):
            if wanted is None:
                return self.st.report.peek()
            board = self.st.board.peek()
            return None if board is None else board.answers.get(wanted)
        return None

    def _instance(self, key: str, wanted: str | None) -> bytes | None:
        board = self.st.board.peek()
        inst = None if board is None else board.by_hash.get(hash_key(key))
        if board is None or inst is None or (wanted is not None and wanted != inst.id):
            return None  # the routers say why (or ask the database)
        return board.answers.get(inst.id)
