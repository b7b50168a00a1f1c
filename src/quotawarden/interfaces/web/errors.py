"""Errors on the dashboard's pages as pages: a 404 or 422 a person can read, with a link back.

The handlers wrap the app's own (the API's JSON ones under the daemon, FastAPI's defaults on their own): a request
answers with HTML only when it is for a dashboard page (or asks for HTML) and lies outside ``/v1``; an API call, a
script asking for JSON, the acknowledge call from the page's script all keep the JSON they had.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from quotawarden.interfaces.web.pages import lazy_environment, render

if TYPE_CHECKING:
    from quotawarden.app.service import Service

Handler = Callable[[Request, Any], Awaitable[Response] | Response]
TITLES = {404: "Not found", 405: "Not allowed", 422: "Invalid request"}
API_PREFIX = "/v1"
PASS_THROUGH = frozenset({401, 403})
"""The gate's answers stay as they are: the page's stylesheet is behind the same gate."""


def wants_page(request: Request, endpoints: Collection[Any]) -> bool:
    """A dashboard page (or an unknown address a browser asked for), never ``/v1``, unless JSON is asked for."""
    path = request.url.path[len(request.scope.get("root_path", "")):] or "/"
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return False
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return False
    return request.scope.get("endpoint") in endpoints or "text/html" in accept


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = [str(x) for x in e.get("loc", ()) if x not in ("query", "path", "body")]
        parts.append(f"{'.'.join(loc) or 'request'}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def install(app: FastAPI, svc: Service, endpoints: Collection[Any]) -> None:
    env = lazy_environment()
    before_http: Handler = app.exception_handlers[StarletteHTTPException]
    before_invalid: Handler = app.exception_handlers[RequestValidationError]

    def page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
        title = TITLES.get(status, "Error")
        html = render(env(), svc, request, "error.html", "error", title, status=status, message=message)
        return HTMLResponse(html, status_code=status, headers={**(headers or {}), "Cache-Control": "no-store"})

    async def call(handler: Handler, request: Request, exc: Exception) -> Response:
        out = handler(request, exc)
        return await out if isinstance(out, Awaitable) else out

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in PASS_THROUGH or exc.status_code < 400 or not wants_page(request, endpoints):
            return await call(before_http, request, exc)
        return page(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not wants_page(request, endpoints):
            return await call(before_invalid, request, exc)
        return page(request, 422, _validation_message(exc))

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
