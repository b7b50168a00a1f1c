"""OTLP/HTTP in: ``POST /v1/logs`` and ``POST /v1/metrics`` (protobuf or JSON, gzip or not).

An agent points ``OTEL_EXPORTER_OTLP_ENDPOINT`` at ``serve`` and sends ``Authorization: Bearer <token>``
(``OTEL_EXPORTER_OTLP_HEADERS``). Who may send: :func:`otlp_sender`, the admin (the host of each call is then the
resource's ``host.name``) or a seat (``ApiState.seat_tokens``: the host is the seat's name, whatever the resource
says). Answers: 200 with an ``Export*ServiceResponse`` (a partial success names records that could not be read),
400 for a body that is not OTLP, 401 without a valid token, 413 over the size limit, 415 for another content type
or encoding.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from quotawarden.app.otlp import MAX_BODY, OtlpError
from quotawarden.interfaces.api.auth import bearer, is_admin, seat_of
from quotawarden.interfaces.api.errors import error_responses
from quotawarden.interfaces.api.state import ApiState, api_state

router = APIRouter(prefix="/v1", tags=["otlp"])
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="quotawarden"'}
_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
    "application/json": {"schema": {"type": "object"}}}}}


def otlp_sender(request: Request, st: ApiState = Depends(api_state)) -> str | None:
    """None for the admin; a seat's name for a seat's token (``[[hub.seats]] name, token``, compared by
    ``auth.seat_of``); 401 otherwise."""
    token = bearer(request)
    if token is None:
        raise HTTPException(401, "send Authorization: Bearer <admin or seat token> "
                                 "(OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer ...\")", headers=_CHALLENGE)
    if is_admin(st, token):
        return None
    seat = seat_of(st, token)
    if seat is None:
        raise HTTPException(401, "the token is neither the admin token nor a seat's", headers=_CHALLENGE)
    return seat


async def _body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it is over the limit (never read whole first)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"request of {int(declared):,} bytes is over the {MAX_BODY:,}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPException(413, f"request is over the {MAX_BODY:,}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def _export(request: Request, st: ApiState, seat: str | None, signal: str) -> Response:
    ctype, encoding = request.headers.get("content-type"), request.headers.get("content-encoding")
    body = await _body(request)
    receiver = st.service.otlp
    handle = receiver.logs if signal == "logs" else receiver.metrics
    try:
        _, answer, kind = await run_in_threadpool(handle, body, ctype, encoding, seat)
    except OtlpError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return Response(answer, media_type=kind)


@router.post("/logs", response_class=Response, openapi_extra=_BODY,
             responses={200: {"description": "ExportLogsServiceResponse"}, **error_responses(400, 401, 413, 415)})
async def otlp_logs(request: Request, seat: str | None = Depends(otlp_sender),
                    st: ApiState = Depends(api_state)) -> Response:
    """OTLP logs: agents' events (Claude Code ``api_request``, Codex ``response.completed``, Gemini CLI
    ``api_response``) become usage events (``source = otel``)."""
    return await _export(request, st, seat, "logs")


@router.post("/metrics", response_class=Response, openapi_extra=_BODY,
             responses={200: {"description": "ExportMetricsServiceResponse"}, **error_responses(400, 401, 413, 415)})
async def otlp_metrics(request: Request, seat: str | None = Depends(otlp_sender),
                       st: ApiState = Depends(api_state)) -> Response:
    """OTLP metrics: agents' token and cost counters, compared with their events (never counted twice)."""
    return await _export(request, st, seat, "metrics")
