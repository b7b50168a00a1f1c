"""Alibaba Cloud Model Studio Coding Plan quota (console RPC, Observed and unstable; no shared fixture).

``POST {host}/data/api.json?action=zeldaEasy.broadscope-bailian.codingPlan.queryCodingPlanInstanceInfoV2
&product=broadscope-bailian&api=queryCodingPlanInstanceInfoV2&currentRegionId=<region>`` with body
``{"queryCodingPlanInstanceInfoRequest":{"commodityCode":"sfm_codingplan_public_intl"}}``; the answer nests
``codingPlanInstanceInfos[0].codingPlanQuotaInfo`` with ``per5HourUsedQuota``/``per5HourTotalQuota``/
``per5HourQuotaNextRefreshTime``, ``perWeek*`` and ``perBillMonth*`` (refresh time epoch ms or ISO).

The endpoint answers ``code: "ConsoleNeedLogin"`` without a console session: the credential is the
``Cookie`` header value the user copies from a signed-in browser (nothing here signs in).

Guessed: how deep the instance list is nested (we search the body for it), the quota unit (we say requests)
and the ``Cookie`` form of the credential.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Unit
from quotawarden.errors import CredentialError, MalformedResponse
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, check_status, json_object, num, obj, parse_time
from quotawarden.redact import redact_text
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://bailian.console.alibabacloud.com"
ACTION = "zeldaEasy.broadscope-bailian.codingPlan.queryCodingPlanInstanceInfoV2"
_WINDOWS = (("per5Hour", "5h", 5 * 3600), ("perWeek", "7d", 7 * 86400), ("perBillMonth", "monthly", None))


class AlibabaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str = "ap-southeast-1"
    commodity_code: str = "sfm_codingplan_public_intl"


def _find(node: Any, key: str, depth: int = 0) -> Any:
    """First value under ``key`` anywhere in the body (the console wraps it in several envelopes)."""
    if depth > 8:
        return None
    if isinstance(node, dict):
        if key in node:
            return node[key]
        children: list[Any] = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find(child, key, depth + 1)
        if found is not None:
            return found
    return None


def parse_quota(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    code = str(body.get("code", ""))
    if "NeedLogin" in code or "NotLogin" in code:
        raise CredentialError(f"alibaba: {code[:40]}: the console session cookie is missing or expired")
    infos = _find(body, "codingPlanInstanceInfos")
    if not isinstance(infos, list) or not infos:
        reason = redact_text(str(body.get("message") or code or "no codingPlanInstanceInfos")[:120])
        raise MalformedResponse(f"alibaba: {reason}")
    info = obj(infos[0], "codingPlanInstanceInfos[0]")
    quota = obj(info.get("codingPlanQuotaInfo"), "codingPlanQuotaInfo")
    for prefix, window, length in _WINDOWS:
        total = quota.get(f"{prefix}TotalQuota")
        if total is None:
            continue
        used = num(quota.get(f"{prefix}UsedQuota", 0), f"{prefix}UsedQuota")
        limit = num(total, f"{prefix}TotalQuota")
        when = quota.get(f"{prefix}QuotaNextRefreshTime")
        out.add(window, Unit.REQUESTS, used=used, limit=limit, remaining=max(limit - used, 0.0),
                resets_at=parse_time(when, f"{prefix}QuotaNextRefreshTime") if when else None, length_s=length)
    return {k: info[k] for k in ("instanceName", "status", "commodityCode") if isinstance(info.get(k), str)}


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, AlibabaSettings) else AlibabaSettings()
    if not ctx.secret:
        raise CredentialError("alibaba: no console session cookie configured")
    params = {"action": ACTION, "product": "broadscope-bailian", "api": "queryCodingPlanInstanceInfoV2",
              "currentRegionId": settings.region}
    body = {"queryCodingPlanInstanceInfoRequest": {"commodityCode": settings.commodity_code}}
    resp = yield HttpRequest("POST", ctx.url(BASE, "/data/api.json"), params=params, json=body,
                             headers={"Cookie": ctx.secret, "Accept": "application/json"})
    check_status(resp, "alibaba", ctx.now)
    out = SampleSet.of(ctx)
    details = parse_quota(out, json_object(resp, "alibaba"))
    return out.reading(**details)


SPEC = ProviderSpec(
    slug="alibaba", display_name="Alibaba Coding Plan", default_base_url=BASE,
    credential_env=("ALIBABA_CONSOLE_COOKIE",), settings_model=AlibabaSettings, probe=probe, kind="subscription",
    probe_cost="1 free console RPC (queryCodingPlanInstanceInfoV2)",
    docs="Coding Plan quota per 5 hours, week and billing month (console session cookie).")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
