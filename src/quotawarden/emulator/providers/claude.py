"""Claude subscriptions (Pro/Max/Team via OAuth ``sk-ant-oat01-...``): unified headers, ``/api/oauth/usage``, refresh.

Windows (``EmuAccount.limits``, fraction 0..1 where 1.0 = the plan's allowance): ``5h``, ``7d`` and optional
model-scoped ``7d_opus`` / ``7d_sonnet``; ``resets`` gives each window's reset time.

``extra`` knobs: ``overage`` (``allowed``/``rejected``, default rejected), ``overage_used`` (fraction),
``overage_limit_cents`` (5000), ``overage_disabled_reason``, ``scopes`` (default includes ``user:profile``),
``expires_at`` (token expiry, epoch s), ``refresh_token``, ``usage_min_interval_s`` (the usage endpoint answers
429 with ``retry-after: 300`` when called again sooner, like the real one), ``tokens_per_5h`` (how many tokens
make a full 5-hour window; default 2,000,000), ``windows_only`` (an exhausted plan answers with the rejected
window's own headers only: no overall ``-status``/``-reset``/``-representative-claim`` and no ``-reset`` of the
rejected window, as a captured 429 did).

Guessed (UNCONFIRMED) formats: the token endpoint's OAuth2 JSON answer and its ``invalid_grant`` error.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response
from quotawarden.emulator.providers.anthropic import anthropic_error, messages_handler

_tokens = itertools.count(1)
CLAIMS = {"5h": "five_hour", "7d": "seven_day", "7d_opus": "seven_day_opus", "7d_sonnet": "seven_day_sonnet"}
LENGTH = {"5h": timedelta(hours=5)}
WARN_AT = {"5h": 0.9}


def _resets(req: EmuRequest, window: str) -> datetime:
    return req.acct.resets.get(window) or req.now + LENGTH.get(window, timedelta(days=7))


def _status(used: float, window: str) -> str:
    if used >= 1.0:
        return "rejected"
    return "allowed_warning" if used >= WARN_AT.get(window, 0.75) else "allowed"


def _overage_allowed(req: EmuRequest) -> bool:
    return req.acct.extra.get("overage") in ("allowed", "allowed_warning")


def _binding(req: EmuRequest) -> str:
    return max(req.acct.limits, key=lambda w: (req.used(w), w == "5h"))


def _month_start(now: datetime) -> datetime:
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def unified_headers(req: EmuRequest) -> dict[str, str]:
    p = "anthropic-ratelimit-unified-"
    out: dict[str, str] = {}
    for w in req.acct.limits:
        used = req.used(w)
        out[f"{p}{w}-status"] = _status(used, w)
        out[f"{p}{w}-reset"] = str(int(_resets(req, w).timestamp()))
        out[f"{p}{w}-utilization"] = f"{used:.2f}"
        if out[f"{p}{w}-status"] == "allowed_warning":
            out[f"{p}{w}-surpassed-threshold"] = str(WARN_AT.get(w, 0.75))
    bind = _binding(req)
    overall = _status(req.used(bind), bind) if req.acct.limits else "allowed"
    out[f"{p}status"] = overall
    out[f"{p}representative-claim"] = CLAIMS.get(bind, bind)
    out[f"{p}reset"] = str(int(_resets(req, bind).timestamp()))
    out[f"{p}fallback-percentage"] = "0.5"
    if _overage_allowed(req):
        out[f"{p}overage-status"] = str(req.acct.extra.get("overage"))
        out[f"{p}overage-reset"] = str(int(_month_start(req.now).timestamp()))
        out[f"{p}overage-utilization"] = f"{float(req.acct.extra.get('overage_used', 0.0)):.2f}"
        if overall == "rejected":
            out[f"{p}overage-in-use"] = "true"
    else:
        out[f"{p}overage-status"] = "rejected"
        out[f"{p}overage-disabled-reason"] = str(req.acct.extra.get("overage_disabled_reason",
                                                                    "org_level_disabled"))
    if req.acct.extra.get("windows_only") and overall == "rejected":
        # a real exhausted-window 429 (gajae-code#2444) carried the rejected window's status and utilization,
        # retry-after and the overage/fallback headers, and no overall status, reset or claim
        for key in ("status", "reset", "representative-claim", f"{bind}-reset"):
            out.pop(f"{p}{key}", None)
    return out


def _gate(req: EmuRequest, input_tokens: int) -> Response | None:
    bind = _binding(req) if req.acct.limits else None
    if bind and req.used(bind) >= 1.0 and not _overage_allowed(req):
        wait = (_resets(req, bind) - req.now).total_seconds()
        return anthropic_error("429", "This request would exceed your account's rate limit. "
                                      "Please try again later.", retry_after=max(1.0, wait))
    return None


def _consume(req: EmuRequest, message: dict[str, Any]) -> None:
    u = message["usage"]
    per_5h = float(req.acct.extra.get("tokens_per_5h", 2_000_000))
    frac = (u["input_tokens"] + u["output_tokens"]) / per_5h
    req.state.consume(req.acct.id, {w: frac / (1 if w == "5h" else 8) for w in req.acct.limits}, req.now)


def _expired(req: EmuRequest) -> bool:
    expiry = req.state.scratch.get(("claude-expiry", req.credential))
    if expiry is None:
        raw = req.acct.extra.get("expires_at")
        expiry = float(raw) if raw is not None else None
    return expiry is not None and req.now.timestamp() >= expiry


def _window(req: EmuRequest, name: str) -> dict[str, Any] | None:
    if name not in req.acct.limits:
        return None
    iso = _resets(req, name).isoformat(timespec="microseconds")
    return {"utilization": round(req.used(name) * 100, 1), "resets_at": iso}


def _limits(req: EmuRequest) -> list[dict[str, Any]]:
    bind = _binding(req)
    out = []
    for w in req.acct.limits:
        kind, group = ("session", "session") if w == "5h" else \
            ("weekly_all", "weekly") if w == "7d" else ("weekly_scoped", "weekly")
        model = w.split("_", 1)[1].capitalize() if "_" in w else None
        out.append({"kind": kind, "group": group, "percent": round(req.used(w) * 100),
                    "resets_at": _resets(req, w).isoformat(timespec="microseconds"),
                    "scope": {"model": {"id": None, "display_name": model}, "surface": None} if model else None,
                    "is_active": w == bind})
    return out


async def oauth_usage(req: EmuRequest) -> Response:
    if "oauth-2025-04-20" not in req.request.headers.get("anthropic-beta", ""):
        return anthropic_error("401", "OAuth authentication is currently not supported.")
    if _expired(req):
        return anthropic_error("401", "OAuth token has expired. Please obtain a new token or refresh your "
                                      "existing token.")
    if "user:profile" not in req.acct.extra.get("scopes", ["user:inference", "user:profile"]):
        return anthropic_error("403", "OAuth token does not meet scope requirement user:profile")
    interval = float(req.acct.extra.get("usage_min_interval_s", 0))
    last = req.state.scratch.get(("claude-usage", req.acct.id))
    if interval and last is not None and req.now.timestamp() - last < interval:
        return anthropic_error("429", "Rate limited. Please try again later.", retry_after=300)
    req.state.scratch[("claude-usage", req.acct.id)] = req.now.timestamp()
    limit_cents = int(req.acct.extra.get("overage_limit_cents", 5000))
    over = float(req.acct.extra.get("overage_used", 0.0))
    extra_usage: dict[str, Any] = (
        {"is_enabled": True, "monthly_limit": limit_cents, "used_credits": round(over * limit_cents),
         "utilization": round(over * 100, 1)} if _overage_allowed(req)
        else {"is_enabled": False, "monthly_limit": None, "used_credits": None, "utilization": None})
    return json_response({
        "five_hour": _window(req, "5h"), "seven_day": _window(req, "7d"), "seven_day_oauth_apps": None,
        "seven_day_opus": _window(req, "7d_opus"), "seven_day_sonnet": _window(req, "7d_sonnet"),
        "extra_usage": extra_usage, "limits": _limits(req),
    })


async def oauth_token(req: EmuRequest) -> Response:
    body = req.json()
    if body is None or not isinstance(body, dict):
        body = dict(parse_qsl(req.body.decode(errors="replace")))
    old = body.get("refresh_token")
    account = next((a for a in req.state.scenario.accounts
                    if a.provider == "claude" and old and a.extra.get("refresh_token") == old), None)
    if body.get("grant_type") != "refresh_token" or account is None:
        return json_response({"error": "invalid_grant", "error_description": "Invalid refresh token"}, 400)
    n = next(_tokens)
    access = f"sk-ant-oat01-emu{n:06d}{'r' * 40}{n:04d}"
    account.extra["refresh_token"] = f"sk-ant-ort01-emu{n:06d}{'f' * 40}{n:04d}"  # refresh tokens rotate
    req.state.alias(access, account)
    req.state.scratch[("claude-expiry", access)] = req.now.timestamp() + 28800
    return json_response({"token_type": "Bearer", "access_token": access, "expires_in": 28800,
                          "refresh_token": account.extra["refresh_token"],
                          "scope": "user:inference user:profile"})


def error(req: EmuRequest, kind: str) -> Response:
    return anthropic_error(kind)


EMULATOR = EmulatedProvider(
    slug="claude",
    routes=[
        Route("POST", "/v1/messages", messages_handler(_gate, _consume)),
        Route("GET", "/api/oauth/usage", oauth_usage),
        Route("POST", "/v1/oauth/token", oauth_token, auth=False),
    ],
    error=error,
    headers=unified_headers,
    credential_hint=r"^sk-ant-o",
)
