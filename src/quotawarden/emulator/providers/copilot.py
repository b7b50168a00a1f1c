"""GitHub Copilot ``/copilot_internal/user`` and the premium-request billing report.

* ``copilot``: window ``premium`` (monthly premium requests; ``extra["overage"]`` adds an overage count,
  ``extra["overage_permitted"]`` (default true) the paid-overage switch; with ``extra["allow_over_limit"]`` usage
  past the entitlement answers a negative remaining and percentage, as GitHub does);
  ``extra["free"]`` switches to the Free plan shape with windows ``chat`` and ``completions``.
* ``copilot_billing``: window ``premium`` again, reported as one ``usageItems`` entry per ``extra["models"]``
  share (default one model).
Errors are GitHub REST style ``{"message", "documentation_url", "status"}``.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response
from quotawarden.emulator.providers._more import reset_of

_TEXT = {401: "Bad credentials", 403: "Resource not accessible by integration", 404: "Not Found",
         429: "API rate limit exceeded for user."}


def _snapshot(quota_id: str, entitlement: float, left: float, overage: float, unlimited: bool,
              permitted: bool = True) -> dict[str, object]:
    """``left`` goes below zero past the allowance, and ``percent_remaining`` with it (a real answer had -1 of 300
    remaining at -0.333 %)."""
    pct = 100.0 if unlimited or not entitlement else 100 * left / entitlement
    return {"entitlement": int(entitlement), "overage_count": overage, "overage_permitted": permitted,
            "percent_remaining": pct if pct < 0 else round(pct, 1), "quota_id": quota_id, "quota_remaining": left,
            "remaining": int(left), "unlimited": unlimited, "timestamp_utc": "2026-08-20T14:03:11.482Z"}


async def user(req: EmuRequest) -> Response:
    a = req.acct
    reset = reset_of(req, "premium", timedelta(days=12))
    body: dict[str, object] = {
        "login": a.id, "access_type_sku": "plus_monthly_subscriber_quota", "chat_enabled": True,
        "copilot_plan": a.extra.get("plan", "individual_pro"), "organization_login_list": [],
        "quota_reset_date": reset.strftime("%Y-%m-%d"),
        "quota_reset_date_utc": reset.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    if a.extra.get("free"):
        body["monthly_quotas"] = {w: int(a.limits.get(w, 0)) for w in ("chat", "completions")}
        body["limited_user_quotas"] = {w: int(req.remaining(w)) for w in ("chat", "completions")}
        body["limited_user_reset_date"] = body["quota_reset_date"]
        return json_response(body)
    body["quota_snapshots"] = {
        "chat": _snapshot("chat", 0, 0, 0, True), "completions": _snapshot("completions", 0, 0, 0, True),
        "premium_interactions": _snapshot("premium_interactions", a.limits.get("premium", 0.0),
                                          round(a.limits.get("premium", 0.0) - req.used("premium"), 1),
                                          float(a.extra.get("overage", 0)), False,
                                          bool(a.extra.get("overage_permitted", True)))}
    return json_response(body)


async def premium_usage(req: EmuRequest) -> Response:
    shares = req.acct.extra.get("models") or {"Claude Sonnet 4.5": 1.0}
    total = req.used("premium")
    items = []
    for model, share in shares.items():
        qty = round(total * share, 1)
        items.append({"product": "Copilot", "sku": "Copilot Premium Request", "model": model, "unitType": "requests",
                      "pricePerUnit": 0.04, "grossQuantity": qty, "grossAmount": round(qty * 0.04, 2),
                      "discountQuantity": qty, "discountAmount": round(qty * 0.04, 2), "netQuantity": 0.0,
                      "netAmount": 0.0})
    return json_response({"timePeriod": {"year": req.now.year, "month": req.now.month},
                          "user": req.params["user"], "usageItems": items})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    return json_response({"message": _TEXT.get(status, "Server Error"), "documentation_url": "https://docs.github.com/rest",
                          "status": str(status)}, status, {"retry-after": "60"} if status == 429 else None)


EMULATOR = [
    EmulatedProvider(slug="copilot", routes=[Route("GET", "/copilot_internal/user", user)], error=error,
                     credential_hint=r"^gho_"),
    EmulatedProvider(slug="copilot_billing", error=error, routes=[
        Route("GET", "/users/{user}/settings/billing/premium_request/usage", premium_usage)]),
]
