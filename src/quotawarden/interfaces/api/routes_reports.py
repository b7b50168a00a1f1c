"""Our richer endpoints (admin): usage and cost, alerts (list/ack), audit, fairness and forecasts."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.encoders import jsonable_encoder

from quotawarden.interfaces.api.auth import Caller, admin
from quotawarden.interfaces.api.errors import AUTH_ERRORS
from quotawarden.interfaces.api.models import AlertAck, StatusOk
from quotawarden.interfaces.api.state import ApiState, api_state

router = APIRouter(prefix="/v1", tags=["reports"], dependencies=[Depends(admin)])
AUTH = AUTH_ERRORS


@router.get("/usage", responses=AUTH)
def usage(st: ApiState = Depends(api_state),
          by: Literal["day", "model", "provider", "project", "consumer", "account"] = "day",
          since: float | None = Query(None, description="epoch seconds"),
          until: float | None = Query(None, description="epoch seconds")) -> list[dict[str, Any]]:
    """Requests, tokens and cost grouped by day, model, provider, project, consumer or account."""
    return st.service.usage_totals(by, since, until)


@router.get("/alerts", responses=AUTH)
def alerts(st: ApiState = Depends(api_state),
           state: Literal["open", "acked", "resolved"] | None = None) -> list[dict[str, Any]]:
    return jsonable_encoder(st.service.alert_rows(state))  # type: ignore[no-any-return]


@router.post("/alerts/{alert_id}/ack", response_model=StatusOk, responses=AUTH)
def ack(alert_id: int = Path(ge=1, le=2**53), body: AlertAck | None = None, who: Caller = Depends(admin),
        st: ApiState = Depends(api_state)) -> StatusOk:
    by = body.by if body else "api"
    if not st.service.acknowledge_alert(alert_id, by):
        raise HTTPException(404, "no such alert")
    st.service.audit("api", "alert.ack", str(alert_id), by=by)
    return StatusOk()


@router.get("/audit/events", responses=AUTH)
def audit_events(st: ApiState = Depends(api_state), limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """The audit trail: every change and autonomous action, with who and when."""
    return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "subject": e.subject,
             "detail": jsonable_encoder(e.detail)} for e in st.service.audit_events(limit)]


@router.get("/audit/report", responses=AUTH)
def audit_report(st: ApiState = Depends(api_state)) -> Any:
    """The latest audit report (the daily audit job writes it)."""
    return jsonable_encoder(st.service.audit_report())


@router.get("/fairness", responses=AUTH)
def fairness(st: ApiState = Depends(api_state)) -> Any:
    """How evenly consumers and projects share each pool."""
    return jsonable_encoder(st.service.fairness())


@router.get("/forecast", responses=AUTH)
def forecast(st: ApiState = Depends(api_state)) -> Any:
    """Spend and exhaustion forecasts."""
    return jsonable_encoder(st.service.forecast())
