"""``/v1/status``: an instance's recommendation (PROCEED / PROCEED_SMALL_ONLY / STOP) from its allocated budget,
and beside it ``next_account``, the planner's pick among its accounts (``analysis.planner``, as ``quotawarden
next``); the admin's answer carries ``next`` over every account, in ``quotawarden next --json``'s shape.

The hot routes of the API: they answer from the status board (:class:`~.state.Board`), bytes rendered once a
second for every instance, without re-validating a model per request; the OpenAPI document still describes the
answer (``responses=``), and the contract test checks the bytes against it.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from quotawarden.app import instances
from quotawarden.domain import Instance
from quotawarden.interfaces.api.auth import Caller, caller, owner_or_admin
from quotawarden.interfaces.api.errors import AUTH_ERRORS
from quotawarden.interfaces.api.models import InstanceStatus
from quotawarden.interfaces.api.state import ApiState, render

router = APIRouter(prefix="/v1", tags=["status"])
AUTH = AUTH_ERRORS
JSON = "application/json"


def all_instances(st: ApiState) -> list[Instance]:
    return st.instances.get("all", lambda: instances.all_instances(st.service))


async def answer(st: ApiState, inst: Instance) -> bytes:
    """The instance's status as JSON bytes: from the board, or (an instance registered on another replica since
    the board was built) computed on its own and cached for a second."""
    board = await st.board.get()
    found = board.answers.get(inst.id)
    if found is not None:
        return found

    def alone() -> bytes:
        return render(instances.instance_status(st.service, inst, all_instances(st)))

    return await st.status.aget(inst.id, alone)


@router.get("/status", response_class=Response,
            responses={200: {"description": "With an instance key, the instance's status (as "
                             "``/v1/status/{instance_id}``); with the admin token, every account and instance",
                             "content": {JSON: {"schema": {"type": "object"}}}}, **AUTH})
async def status(request: Request) -> Response:
    """With an instance key: that instance's status. With the admin token: every account and instance, and the
    planner's pick (``next``)."""
    st: ApiState = request.app.state.qw
    who = await caller(request, st)
    if who.instance is not None:
        return Response(await answer(st, who.instance), media_type=JSON)
    return Response(await st.report.get(), media_type=JSON)


@router.get("/status/{instance_id}", response_class=Response,
            responses={200: {"model": InstanceStatus, "description": "The instance's status"}, **AUTH})
async def instance_status(instance_id: str, request: Request) -> Response:
    """One instance's TOKEN_STATUS: providers, windows against its allocated caps, and the recommendation."""
    st: ApiState = request.app.state.qw
    who: Caller = await caller(request, st)
    owner_or_admin(instance_id, who)
    inst = who.instance
    if inst is None:  # the admin
        inst = (await st.board.get()).by_id.get(instance_id)
        if inst is None:
            inst = await run_in_threadpool(instances.get, st.service, instance_id)
    if inst is None:
        raise HTTPException(404, "no such instance")
    return Response(await answer(st, inst), media_type=JSON)
