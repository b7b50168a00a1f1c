"""OpenRouter ``/api/v1/key`` and ``/api/v1/credits`` (USD floats).

Windows: ``key`` (the key's cap, resetting per ``extra["limit_reset"]``, default monthly), ``daily``,
``weekly``, ``monthly``, ``total`` (spend) and ``credits`` (prepaid credits; ``/credits`` answers them with
``extra["management"]`` and ``200 {"total_credits": 0, "total_usage": 0}`` otherwise, as the real service does).
Errors: ``{"error": {"code": <status>, "message", "metadata"?}}``.
"""

from __future__ import annotations

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

_TEXT = {401: "No auth credentials found", 402: "This request requires more credits, or fewer max_tokens.",
         403: "Only management keys can perform this operation", 429: "Rate limit exceeded: free-models-per-day."}


async def key(req: EmuRequest) -> Response:
    a = req.acct
    capped = "key" in a.limits
    return json_response({"data": {
        "label": "sk-or-v1-emu...", "limit": a.limits["key"] if capped else None,
        "limit_remaining": round(req.remaining("key"), 4) if capped else None,
        "limit_reset": a.extra.get("limit_reset", "monthly") if capped else None, "include_byok_in_limit": False,
        "usage": round(req.used("total"), 4), "usage_daily": round(req.used("daily"), 4),
        "usage_weekly": round(req.used("weekly"), 4), "usage_monthly": round(req.used("monthly"), 4),
        "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_weekly": 0, "byok_usage_monthly": 0,
        "is_free_tier": bool(a.extra.get("free_tier", False)), "is_management_key": bool(a.extra.get("management")),
        "is_provisioning_key": False, "creator_user_id": "user_emu", "expires_at": None,
        "rate_limit": {"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."}}})


async def credits(req: EmuRequest) -> Response:
    if not req.acct.extra.get("management"):  # the real service answers an ordinary key with zeros, not a 403
        return json_response({"data": {"total_credits": 0, "total_usage": 0}})
    return json_response({"data": {"total_credits": req.acct.limits.get("credits", 0.0),
                                   "total_usage": round(req.used("credits"), 5)}})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    body: dict[str, object] = {"message": _TEXT.get(status, "Internal Server Error"), "code": status}
    if status == 429:
        body["metadata"] = {"headers": {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0"},
                            "provider_name": None}
    return json_response({"error": body}, status, {"retry-after": "30"} if status == 429 else None)


EMULATOR = EmulatedProvider(
    slug="openrouter", routes=[Route("GET", "/api/v1/key", key), Route("GET", "/api/v1/credits", credits)],
    error=error, credential_hint=r"^sk-or-")
