"""Google logins on Cloud Code Assist: ``antigravity_quota`` (``fetchAvailableModels``) and ``gemini_cli``
(``retrieveUserQuota``), with Google's OAuth ``POST /token`` and ``loadCodeAssist`` on the same port.

An account's ``credential`` is its *refresh token*; ``POST /token`` (form or JSON, ``grant_type=refresh_token``)
answers a fresh ``ya29.`` access token that names the account, or ``400 invalid_grant`` ("Token has been
expired or revoked.") when the refresh token is unknown or ``extra["revoked"]`` is set.

Windows (``EmuAccount.limits``, fraction 1.0 = the model's allowance) are model ids (``gemini-3-pro-high``,
``claude-sonnet-4-5``...); ``used`` is the used fraction, ``resets`` each model's reset (default: 5 hours on).
``remainingFraction`` is left out of an exhausted model's ``quotaInfo``, as proto3 JSON leaves zeros out.
``extra``: ``project`` (answered by ``loadCodeAssist``; a different ``project`` in a quota call is a 403),
``tier`` (``free-tier``), ``display`` (model id -> display name), ``internal`` (model ids listed without quota).

Faults apply to the calls made with the access token (the quota and project calls).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

_tokens = itertools.count(1)
PROVIDERS = ("antigravity_quota", "gemini_cli")
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
MESSAGE = {401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential.",
           403: "The caller does not have permission", 429: "Resource has been exhausted (e.g. check quota).",
           500: "Internal error encountered.", 503: "The service is currently unavailable."}


def google_error(kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    headers = {"retry-after": "30"} if status == 429 else None
    return json_response({"error": {"code": status, "message": MESSAGE.get(status, "Error"),
                                    "status": STATUS.get(status, "UNKNOWN")}}, status, headers)


async def token(req: EmuRequest) -> Response:
    body = req.json()
    if not isinstance(body, dict):
        body = dict(parse_qsl(req.body.decode(errors="replace")))
    refresh = body.get("refresh_token")
    account = next((a for a in req.state.scenario.accounts
                    if a.provider in PROVIDERS and refresh and a.credential == refresh), None)
    if body.get("grant_type") != "refresh_token" or not body.get("client_id"):
        return json_response({"error": "invalid_request", "error_description": "Missing required parameter"}, 400)
    if account is None or account.extra.get("revoked"):
        return json_response({"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                             400)
    n = next(_tokens)
    access = f"ya29.emu{n:06d}{'a' * 60}"
    req.state.alias(access, account)
    return json_response({"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                          "scope": "https://www.googleapis.com/auth/cloud-platform openid"})


def _project_mismatch(req: EmuRequest) -> bool:
    want = req.acct.extra.get("project")
    body = req.json() or {}
    got = body.get("project") if isinstance(body, dict) else None
    return bool(want and got and got != want)


async def load_code_assist(req: EmuRequest) -> Response:
    tier = str(req.acct.extra.get("tier", "free-tier"))
    return json_response({"currentTier": {"id": tier, "name": tier.replace("-", " ").title()},
                          "cloudaicompanionProject": req.acct.extra.get("project", "emulated-project-1"),
                          "allowedTiers": [{"id": tier, "isDefault": True}]})


def _quota(req: EmuRequest, model: str) -> dict[str, Any]:
    left = max(0.0, min(1.0, req.remaining(model)))
    reset = req.acct.resets.get(model) or req.now + timedelta(hours=5)
    out: dict[str, Any] = {"resetTime": reset.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if left > 0:
        out["remainingFraction"] = round(left, 6)
    return out


async def fetch_available_models(req: EmuRequest) -> Response:
    if _project_mismatch(req):
        return google_error("403")
    names = req.acct.extra.get("display", {})
    models: dict[str, Any] = {m: {"displayName": names.get(m, m), "quotaInfo": _quota(req, m),
                                  "modelProvider": "MODEL_PROVIDER_ANTHROPIC" if "claude" in m
                                  else "MODEL_PROVIDER_GOOGLE"} for m in req.acct.limits}
    for m in req.acct.extra.get("internal", []):
        models[m] = {"displayName": m}
    return json_response({"models": models})


FAMILIES = {"Gemini Models": ("gemini", "Gemini Flash, Gemini Pro"),
            "Claude and GPT models": ("3p", "Claude Opus, Claude Sonnet, GPT-OSS")}


async def retrieve_user_quota_summary(req: EmuRequest) -> Response:
    """Antigravity's family pools, as router-for-me/CLIProxyAPI#3876 shows them: each family's weekly and
    five-hour bucket. ``extra["families"]``: ``{"Claude and GPT models": {"weekly": 1.0}}`` used fractions
    (default 0); ``extra["summary_status"]``: answer that error status instead (an account without the endpoint)."""
    if req.acct.extra.get("summary_status"):
        return google_error(str(req.acct.extra["summary_status"]))
    if _project_mismatch(req):
        return google_error("403")
    used = req.acct.extra.get("families", {})
    groups = []
    for name, (prefix, members) in FAMILIES.items():
        buckets = []
        for window, label, hours in (("weekly", "Weekly Limit Remaining", 24 * 7), ("5h", "Five Hour Limit Remaining",
                                                                                     5)):
            left = max(0.0, 1.0 - float(used.get(name, {}).get(window, 0.0)))
            bucket: dict[str, Any] = {"bucketId": f"{prefix}-{window}", "displayName": label, "window": window,
                                      "resetTime": (req.now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")}
            if left > 0:  # proto3 JSON leaves a zero out
                bucket["remainingFraction"] = round(left, 8)
            buckets.append(bucket)
        groups.append({"buckets": buckets, "displayName": name, "description": f"Models within this group: {members}"})
    return json_response({"groups": groups})


async def retrieve_user_quota(req: EmuRequest) -> Response:
    if _project_mismatch(req):
        return google_error("403")
    buckets = [{"modelId": m, "tokenType": "REQUESTS", **_quota(req, m)} for m in req.acct.limits]
    return json_response({"buckets": buckets})


def error(req: EmuRequest, kind: str) -> Response:
    return google_error(kind)


def _emulator(slug: str, *methods: tuple[str, Any]) -> EmulatedProvider:
    return EmulatedProvider(slug=slug, routes=[
        Route("POST", "/token", token, auth=False),
        Route("POST", "/v1internal:loadCodeAssist", load_code_assist),
        *(Route("POST", f"/v1internal:{method}", handler) for method, handler in methods),
    ], error=error, credential_hint=r"^(ya29\.|1//)")


EMULATOR = [_emulator("antigravity_quota", ("fetchAvailableModels", fetch_available_models),
                      ("retrieveUserQuotaSummary", retrieve_user_quota_summary)),
            _emulator("gemini_cli", ("retrieveUserQuota", retrieve_user_quota))]
