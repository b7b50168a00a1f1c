"""One JSON error shape for every failure: ``{"error": "...", "detail": ...}`` (quota-sentinel reads ``error``)."""

from __future__ import annotations

from typing import Any, TypeAlias

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from quotawarden.errors import QuotawardenError, StoreError
from quotawarden.interfaces.api.models import Error
from quotawarden.redact import redact_text

_WORDS = {400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found", 405: "method not allowed",
          409: "conflict", 413: "too large", 415: "unsupported media type", 422: "invalid request",
          503: "unavailable"}

Responses: TypeAlias = dict[int | str, dict[str, Any]]
"""What FastAPI's ``responses=`` takes: status code -> OpenAPI response (``model``, ``description``...)."""


def error_responses(*codes: int) -> Responses:
    """These status codes, each documented with the :class:`~.models.Error` body."""
    return {code: {"model": Error} for code in codes}


AUTH_ERRORS: Responses = error_responses(400, 401, 403, 404)
"""A route behind a key: a bad request, a missing or wrong key, a key that does not grant it, nothing there."""


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        word = _WORDS.get(exc.status_code, "error")
        detail = exc.detail if exc.detail != word else None
        return JSONResponse({"error": word, "detail": detail}, status_code=exc.status_code,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return JSONResponse({"error": "invalid request", "detail": errors}, status_code=422)

    @app.exception_handler(StoreError)
    async def store_down(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"error": "unavailable", "detail": redact_text(str(exc))}, status_code=503)

    @app.exception_handler(QuotawardenError)
    async def domain_error(_: Request, exc: QuotawardenError) -> JSONResponse:
        return JSONResponse({"error": "bad request", "detail": redact_text(str(exc))}, status_code=400)
