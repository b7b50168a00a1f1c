"""``/v1/providers``: the providers an instance subscribes to (the admin sees all), quota-sentinel shaped."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from quotawarden.analysis import allocation as alloc
from quotawarden.app import instances
from quotawarden.interfaces.api.auth import Caller, caller
from quotawarden.interfaces.api.errors import AUTH_ERRORS
from quotawarden.interfaces.api.models import ProviderDetail, ProviderStatus
from quotawarden.interfaces.api.routes_status import all_instances
from quotawarden.interfaces.api.state import ApiState, api_state

router = APIRouter(prefix="/v1/providers", tags=["providers"])
AUTH = AUTH_ERRORS


def _visible(who: Caller, st: ApiState) -> dict[str, str]:
    """provider -> account id this caller may see."""
    if who.instance is not None:
        return dict(who.instance.providers)
    out: dict[str, str] = {}
    for i in all_instances(st):
        for p, a in i.providers.items():
            out.setdefault(p, a)
    return out


def _caps(st: ApiState) -> Any:
    caps = st.service.config.settings.thresholds.hard_caps
    return lambda provider, window: alloc.hard_cap(provider, window, caps)


@router.get("", response_model=dict[str, ProviderStatus], response_model_exclude_none=True,
             responses=AUTH)
def providers(who: Caller = Depends(caller), st: ApiState = Depends(api_state)) -> Any:
    """provider -> status and windows (against the provider's full hard cap); ``{}`` with none."""
    visible = _visible(who, st)
    if not visible:
        return {}
    return instances.provider_windows(st.service, list(visible.values()), _caps(st))


@router.get("/{name}", response_model=ProviderDetail, response_model_exclude_none=True, responses=AUTH)
def provider(name: str, who: Caller = Depends(caller), st: ApiState = Depends(api_state)) -> Any:
    """One provider: key fingerprint, subscribed instances (only your own unless admin) and windows."""
    visible = _visible(who, st)
    if name not in visible:
        raise HTTPException(404, f"no provider {name!r} for this key")
    aid = visible[name]
    subs = sorted(i.id for i in all_instances(st) if i.providers.get(name) == aid)
    if not who.admin:
        subs = [s for s in subs if who.instance is not None and s == who.instance.id]
    data = instances.provider_windows(st.service, [aid], _caps(st)).get(name, {"status": "UNKNOWN",
                                                                             "error": "no data"})
    return {"name": name, "fingerprint": instances.key_fingerprint(st.service, aid), "subscribers": subs, **data}
