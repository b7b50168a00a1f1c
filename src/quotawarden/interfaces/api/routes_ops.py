"""Operations: ``/v1/health`` (open), ``/v1/poll`` (an instance's own providers; admin: any), ``/v1/jobs``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from quotawarden.interfaces.api.auth import Caller, admin, caller
from quotawarden.interfaces.api.errors import error_responses
from quotawarden.interfaces.api.models import Health, JobRunOut, PollResponse
from quotawarden.interfaces.api.routes_status import all_instances
from quotawarden.interfaces.api.state import ApiState, api_state

router = APIRouter(prefix="/v1", tags=["operations"])
AUTH = error_responses(400, 401, 403)


@router.get("/health", response_model=Health)
def health(st: ApiState = Depends(api_state)) -> Health:
    """Liveness and database reachability; needs no key."""
    status: Literal["ok", "degraded"] = "ok"
    providers = count = 0
    try:
        st.service.ping_database()
        insts = all_instances(st)
        count = len(insts)
        providers = len({a for i in insts for a in i.providers.values()})
    except Exception:
        status = "degraded"
    return Health(status=status, uptime=round(time.time() - st.started), providers=providers, instances=count,
                  database=st.service.store.dialect, replica=st.replica)


@router.post("/poll", response_model=PollResponse, responses=AUTH)
def poll(who: Caller = Depends(caller), st: ApiState = Depends(api_state)) -> PollResponse:
    """Make the caller's accounts due now; the scheduler polls them within a second."""
    if who.instance is not None:
        ids = sorted(who.instance.providers.values())
    else:
        ids = sorted(a.id for a in st.service.accounts())
    if st.poll_now is not None and ids:
        st.poll_now(ids)
    st.status.clear()
    return PollResponse(status="poll triggered", accounts=ids if who.admin else sorted(who.instance.providers)
                        if who.instance else [])


def _iso(ts: float | None) -> str:
    return datetime.fromtimestamp(ts or 0, UTC).isoformat().replace("+00:00", "Z")


def job_rows(st: ApiState) -> list[dict[str, Any]]:
    return [{"job": r.job, "host": r.host, "started_at": _iso(r.started_ts),
             "duration_s": None if r.finished_ts is None else round(r.finished_ts - r.started_ts, 3),
             "outcome": r.outcome, "detail": r.detail} for r in st.service.last_job_runs()]


@router.get("/jobs", response_model=list[JobRunOut], responses=AUTH)
def jobs(_: Caller = Depends(admin), st: ApiState = Depends(api_state),
         job: str | None = Query(None, max_length=100), history: bool = False) -> Any:
    """The last run of every scheduled job (or the recent runs of one job with ``history=true``)."""
    if not history:
        return job_rows(st)
    return [{"job": r.job, "host": r.host, "started_at": _iso(r.started_ts),
             "duration_s": None if r.finished_ts is None else round(r.finished_ts - r.started_ts, 3),
             "outcome": r.outcome, "detail": r.detail} for r in st.service.job_runs(job, 200)]
