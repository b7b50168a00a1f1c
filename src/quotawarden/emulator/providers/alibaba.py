"""Alibaba Coding Plan console RPC ``POST /data/api.json?api=queryCodingPlanInstanceInfoV2`` (shape guessed,
see ``tests/providers/alibaba``). Windows ``5h``, ``7d``, ``monthly``. The client authenticates with the
console ``Cookie`` header, which the generic dispatcher does not read, so this route looks the cookie up itself
and plays the account's fault: auth faults answer ``ConsoleNeedLogin`` with HTTP 200, as the console does."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response, malformed
from quotawarden.emulator.providers._more import epoch_ms, reset_of

_DEFAULTS = {"5h": timedelta(hours=5), "7d": timedelta(days=7), "monthly": timedelta(days=30)}
_PREFIX = {"5h": "per5Hour", "7d": "perWeek", "monthly": "perBillMonth"}


async def query(req: EmuRequest) -> Response:
    account = req.state.credentials.get(req.request.headers.get("cookie", ""))
    if account is None or account.provider != "alibaba":
        return error(req, "401")
    req.account = account
    if account.fault:
        return malformed() if account.fault == "malformed" else error(req, account.fault)
    info: dict[str, object] = {}
    for window, prefix in _PREFIX.items():
        if window in account.limits:
            info[f"{prefix}UsedQuota"] = int(req.used(window))
            info[f"{prefix}TotalQuota"] = int(account.limits[window])
            info[f"{prefix}QuotaNextRefreshTime"] = epoch_ms(reset_of(req, window, _DEFAULTS[window]))
    instance = {"instanceName": "coding-plan-pro", "status": "VALID", "commodityCode": "sfm_codingplan_public_intl",
                "codingPlanQuotaInfo": info}
    return json_response({"code": "200", "successResponse": True,
                          "data": {"DataV2": {"data": {"data": {"codingPlanInstanceInfos": [instance]}}}}})


def error(req: EmuRequest, kind: str) -> Response:
    if kind in ("401", "403"):
        return json_response({"code": "ConsoleNeedLogin", "message": "You need to log in.", "successResponse": False})
    status = int(kind) if kind.isdigit() else 500
    code = "Throttling.User" if status == 429 else "SystemError"
    return json_response({"code": code, "message": code, "successResponse": False}, status,
                         {"retry-after": "10"} if status == 429 else None)


EMULATOR = EmulatedProvider(slug="alibaba", error=error, routes=[Route("POST", "/data/api.json", query, auth=False)])
