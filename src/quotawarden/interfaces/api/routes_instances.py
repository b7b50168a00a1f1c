"""``/v1/instances``: register (open, like quota-sentinel, within per-source and total caps), deregister and
heartbeat (the instance's own key)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from quotawarden.app import instances
from quotawarden.interfaces.api.auth import Caller, bearer, caller, is_admin, owner_or_admin
from quotawarden.interfaces.api.errors import error_responses
from quotawarden.interfaces.api.models import HeartbeatRequest, RegisterRequest, RegisterResponse, StatusOk
from quotawarden.interfaces.api.state import ApiState, api_state

router = APIRouter(prefix="/v1/instances", tags=["instances"])
AUTH = error_responses(400, 401, 403, 404, 422)


@router.post("", status_code=201, response_model=RegisterResponse,
             responses=error_responses(400, 422, 429))
def register(body: RegisterRequest, request: Request, st: ApiState = Depends(api_state)) -> RegisterResponse:
    """Register an agent instance; the ``api_key`` in the answer is shown once (only its hash is kept).

    Open, as in quota-sentinel, within limits: 20 registrations per client address per hour (unlimited with the
    admin token) and 500 registered instances in all; beyond either, 429."""
    if not is_admin(st, bearer(request)):
        source = request.client.host if request.client else "unknown"
        wait = st.registrations.take(source)
        if wait:
            raise HTTPException(429, f"too many registrations from {source}: at most "
                                     f"{instances.MAX_REGISTRATIONS_PER_SOURCE} per hour without the admin token",
                                headers={"Retry-After": str(int(wait) + 1)})
    try:
        inst, key = instances.register(
            st.service, project_name=body.project_name, framework=body.framework,
            auth=body.auth.model_dump(exclude_none=True), poll_interval=body.poll_interval,
            provider_config=body.provider_config, hard_caps=body.hard_caps)
    except instances.TooManyInstances as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "3600"}) from None
    except instances.RegistrationError as exc:
        raise HTTPException(400, str(exc)) from None
    st.invalidate()
    return RegisterResponse(instance_id=inst.id, api_key=key, providers=sorted(inst.providers),
                            poll_interval=inst.poll_interval_s)


@router.delete("/{instance_id}", response_model=StatusOk, responses=AUTH)
def deregister(instance_id: str, who: Caller = Depends(caller), st: ApiState = Depends(api_state)) -> StatusOk:
    """Deregister; an account no other instance shares stops being polled."""
    owner_or_admin(instance_id, who)
    if not instances.deregister(st.service, instance_id):
        raise HTTPException(404, "no such instance")
    st.invalidate()
    return StatusOk()


@router.patch("/{instance_id}/heartbeat", response_model=StatusOk, responses=AUTH)
def heartbeat(instance_id: str, body: HeartbeatRequest | None = None, who: Caller = Depends(caller),
              st: ApiState = Depends(api_state)) -> StatusOk:
    """Keep-alive, optionally with a new state (active, idle, paused) that re-weights the budget."""
    owner_or_admin(instance_id, who)
    if not instances.heartbeat(st.service, instance_id, body.state if body else None):
        raise HTTPException(404, "no such instance")
    if body is not None and body.state is not None:
        st.invalidate()  # the budget shares moved; a keep-alive alone changes no answer
    return StatusOk()
