"""``/v1/status``: an instance's recommendation (PROCEED / PROCEED_SMALL_ONLY / STOP) from its allocated budget."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from quotawarden import instances
from quotawarden.interfaces.api.auth import Caller, caller, owner_or_admin
from quotawarden.interfaces.api.models import Error, InstanceStatus
from quotawarden.interfaces.api.state import ApiState, api_state
from quotawarden.store import instances as inst_q
from quotawarden.store.instances import Instance

router = APIRouter(prefix="/v1", tags=["status"])
AUTH = {400: {"model": Error}, 401: {"model": Error}, 403: {"model": Error}, 404: {"model": Error}}


def all_instances(st: ApiState) -> list[Instance]:
    return st.instances.get("all", lambda: inst_q.all_instances(st.service.store))


def status_of(st: ApiState, inst: Instance) -> dict[str, Any]:
    return st.status.get(inst.id, lambda: instances.instance_status(st.service, inst, all_instances(st)))


@router.get("/status", responses=AUTH)
def status(who: Caller = Depends(caller), st: ApiState = Depends(api_state)) -> dict[str, Any]:
    """With an instance key: that instance's status. With the admin token: every account and instance."""
    if who.instance is not None:
        return status_of(st, who.instance)
    report = st.status.get("__all__", lambda: st.service.status_report())
    report = dict(report)
    report["instances"] = {i.id: {"project_name": i.project, "framework": i.framework, "state": i.state,
                                  "providers": sorted(i.providers)} for i in all_instances(st)}
    return report


@router.get("/status/{instance_id}", response_model=InstanceStatus, response_model_exclude_none=True, responses=AUTH)
async def instance_status(instance_id: str, who: Caller = Depends(caller),
                          st: ApiState = Depends(api_state)) -> Any:
    """One instance's TOKEN_STATUS: providers, windows against its allocated caps, and the recommendation."""
    owner_or_admin(instance_id, who)
    if who.instance is not None:
        inst = who.instance
    else:
        from starlette.concurrency import run_in_threadpool

        inst = await run_in_threadpool(inst_q.get, st.service.store, instance_id)
    if inst is None:
        raise HTTPException(404, "no such instance")
    all_insts = await st.instances.aget("all", lambda: inst_q.all_instances(st.service.store))
    return await st.status.aget(inst.id, lambda: instances.instance_status(st.service, inst, all_insts))
