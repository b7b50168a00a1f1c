"""The hub: seats push here (``POST /v1/hub/push``) and read the team view (``GET /v1/hub/team``) and a seat's
status (``GET /v1/hub/seats/{seat}/status``).

A seat's token (``[[hub.seats]] name, token``) pushes and reads its own seat only; the admin token reads every
seat and pushes none (a push is always some seat's). Any replica on the same database takes any push: every
row a push writes is keyed, so the same request landing on two replicas is stored once.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from quotawarden.analysis.team import team_json
from quotawarden.app.hub import MAX_BODY, HubError
from quotawarden.interfaces.api.auth import HubCaller, hub_caller, may_read_seat
from quotawarden.interfaces.api.errors import error_responses
from quotawarden.interfaces.api.state import ApiState, TTLCache, api_state

router = APIRouter(prefix="/v1/hub", tags=["hub"])
TEAM_TTL_S = 5.0
"""How long one team view is served (every seat's status: the heaviest read on a hub)."""
_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object"}}}}}


class PushAck(BaseModel):
    """What the hub stored from one push (rows offered; rows it already held are kept once)."""

    push_id: str
    seat: str
    accounts: int
    states: int
    samples: int
    usage: int
    outcomes: int


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"push of {int(declared):,} bytes is over the {MAX_BODY:,}-byte limit "
                                 "(lower [hub] batch on the seat)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPException(413, f"push is over the {MAX_BODY:,}-byte limit (lower [hub] batch on the seat)")
        chunks.append(chunk)
    return b"".join(chunks)


async def _hub_caller(request: Request) -> HubCaller:
    """``hub_caller`` on the event loop: a few constant-time comparisons are no reason for a thread hop (a sync
    dependency would take one, and a push already takes one to store)."""
    return hub_caller(request, api_state(request))


_ACK = msgspec.json.Encoder().encode


@router.post("/push", response_model=PushAck, openapi_extra=_BODY,
             responses=error_responses(400, 401, 403, 413, 415))
async def push(request: Request, who: HubCaller = Depends(_hub_caller)) -> Any:
    """A seat's readings, usage events, account states and hourly call counts since its last push (gzip JSON,
    ``quotawarden push``'s format), stored under ``<seat>/<account>``. ``Server-Timing: store;dur=`` says how
    long the hub took to store it (milliseconds)."""
    if who.seat is None:
        raise HTTPException(403, "a push is a seat's: send the seat's token ([[hub.seats]]), not the admin token")
    st = api_state(request)
    body = await _body(request)
    started = time.perf_counter()
    try:  # decompressing, decoding and writing, off the event loop: one thread hop per push
        ack = await run_in_threadpool(st.service.hub_receive, who.seat, body, request.headers.get("content-type"),
                                      request.headers.get("content-encoding"))
    except HubError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    timing = f"store;dur={(time.perf_counter() - started) * 1000:.1f}"
    return Response(_ACK(ack), media_type="application/json", headers={"Server-Timing": timing})


@router.get("/team", responses=error_responses(401, 403))
async def team(request: Request,
               seat: str | None = Query(None, max_length=64, description="One seat (a seat token: its own)."),
               days: float = Query(30, gt=0, le=366, description="Cost over this many days."),
               who: HubCaller = Depends(hub_caller), st: ApiState = Depends(api_state)) -> dict[str, Any]:
    """The team view (``quotawarden team --json``'s shape): every seat for the admin, its own for a seat.
    Computed at most every few seconds (``TEAM_TTL_S``) however many readers ask."""
    if seat is not None:
        may_read_seat(who, seat)
    only = seat if seat is not None else who.seat
    cache = getattr(request.app.state, "hub_team", None)
    if cache is None:
        cache = request.app.state.hub_team = TTLCache(TEAM_TTL_S)
    answer: dict[str, Any] = await cache.aget((only, days), lambda: team_json(st.service.team(only, days)))
    return answer


@router.get("/seats/{seat}/status", responses=error_responses(401, 403, 404))
async def seat_status(seat: str, who: HubCaller = Depends(hub_caller),
                      st: ApiState = Depends(api_state)) -> dict[str, Any]:
    """One seat's accounts (``<seat>/<account>``) in ``status --json``'s shape."""
    may_read_seat(who, seat)

    def report() -> dict[str, Any]:
        prefix = seat + "/"
        ids = [a.id for a in st.service.accounts(include_all=True) if a.id.startswith(prefix)]
        if not ids:
            raise HTTPException(404, f"no accounts from seat {seat!r} (has it pushed?)")
        return st.service.status_report(ids)

    return await run_in_threadpool(report)
