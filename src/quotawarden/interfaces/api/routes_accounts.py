"""``/v1/accounts`` (admin): accounts, their windows, and samples or hourly roll-ups over time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from quotawarden.interfaces.api.auth import Caller, admin
from quotawarden.interfaces.api.errors import AUTH_ERRORS
from quotawarden.interfaces.api.state import ApiState, api_state

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], dependencies=[Depends(admin)])
AUTH = AUTH_ERRORS
_EPOCH_MAX = 253402300799.0  # 9999-12-31


def _when(value: float | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(min(max(value, 0.0), _EPOCH_MAX), UTC)


@router.get("", responses=AUTH)
def accounts(st: ApiState = Depends(api_state)) -> dict[str, Any]:
    """Every account with its windows' health (the ``status --json`` contract)."""
    return st.service.status_report()


@router.get("/{account_id}", responses=AUTH)
def account(account_id: str, st: ApiState = Depends(api_state)) -> dict[str, Any]:
    report = st.service.status_report([account_id])
    if not report["accounts"]:
        raise HTTPException(404, "no such account")
    return report["accounts"][0]  # type: ignore[no-any-return]


@router.get("/{account_id}/samples", responses=AUTH)
def samples(account_id: str, st: ApiState = Depends(api_state), window: str | None = Query(None, max_length=64),
            since: float | None = Query(None, description="epoch seconds"),
            until: float | None = Query(None, description="epoch seconds"),
            _: Caller = Depends(admin)) -> list[dict[str, Any]]:
    """Raw samples of one account, oldest first (older ones live on as hourly roll-ups)."""
    rows = st.service.samples(account_id, window, since=_when(since), until=_when(until))
    return [{"window": s.window, "observed_at": s.observed_at.isoformat(), "used_ratio": s.effective_ratio,
             "used": s.used, "remaining": s.remaining, "limit": s.limit, "unit": s.unit.value,
             "resets_at": s.resets_at.isoformat() if s.resets_at else None, "source": s.source.value}
            for s in rows[-5000:]]


@router.get("/{account_id}/rollups", responses=AUTH)
def rollups(account_id: str, st: ApiState = Depends(api_state),
            window: str | None = Query(None, max_length=64)) -> list[dict[str, Any]]:
    """Hourly roll-ups of pruned samples (kept for ever)."""
    return st.service.rollups(account_id, window)
