"""Shared, pure pieces of the Google-login providers (``antigravity_quota``, ``gemini_cli``): the OAuth refresh against
``https://oauth2.googleapis.com/token`` and the Cloud Code Assist calls (``https://cloudcode-pa.googleapis.com``).

Every URL goes through :meth:`ProbeContext.url`, so an account's ``base_url`` redirects the token refresh as well
as the quota calls (the emulator serves ``/token`` and ``/v1internal:*`` on one port).

Confirmed against public sources (tests/providers/antigravity/SOURCES.md): the refresh is a form POST with
``grant_type=refresh_token``, ``refresh_token``, ``client_id`` and ``client_secret``; a revoked or expired refresh
token is answered ``400 {"error": "invalid_grant", ...}``; ``loadCodeAssist`` names the project in
``cloudaicompanionProject`` (a string, or an object with ``id``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from quotawarden.domain import Outcome
from quotawarden.errors import CredentialError, MalformedResponse, RateLimited, UpstreamError
from quotawarden.providers._quota import check_status, error_text, json_object, opt_num, parse_time, retry_after
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading

TOKEN_BASE = "https://oauth2.googleapis.com"
CODE_ASSIST_BASE = "https://cloudcode-pa.googleapis.com"
REFRESH_SKEW = timedelta(minutes=5)


@dataclass
class GoogleLogin:
    """One Google login as a tool keeps it; never printed (no ``__repr__`` of the tokens)."""

    refresh_token: str | None
    access_token: str | None = None
    expires_at: datetime | None = None
    project: str | None = None
    email: str | None = None

    def __repr__(self) -> str:
        return f"GoogleLogin(email={self.email!r}, project={self.project!r})"


def fresh_access(login: GoogleLogin, now: datetime) -> bool:
    return bool(login.access_token) and (login.expires_at is None or login.expires_at > now + REFRESH_SKEW)


def refresh(ctx: ProbeContext, login: GoogleLogin, name: str, client_id: str, client_secret: str | None,
            relogin: str) -> Generator[HttpRequest, HttpResponse, None]:
    """Trade the refresh token for an access token; a dead one is a CredentialError naming the fix, no secret."""
    if not login.refresh_token:
        raise CredentialError(f"{name}: no refresh token in the credential; {relogin}")
    form = {"grant_type": "refresh_token", "refresh_token": login.refresh_token, "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    resp = yield HttpRequest("POST", ctx.url(TOKEN_BASE, "/token"), form=form, purpose="refresh",
                             headers={"Accept": "application/json"})
    if resp.status != 200:
        code, detail = _oauth_error(resp.body)
        what = f"HTTP {resp.status}" + (f" {code}" if code else "") + (f": {detail}" if detail else "")
        if resp.status in (400, 401, 403):
            raise CredentialError(f"{name}: token refresh rejected ({what}); {relogin}")
        if resp.status == 429:
            raise RateLimited(f"{name}: token endpoint rate limited ({what})", retry_after(resp.headers, ctx.now))
        raise UpstreamError(f"{name}: token refresh failed ({what})")
    body = json_object(resp, f"{name} token refresh")
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise CredentialError(f"{name}: token refresh answered without an access token; {relogin}")
    login.access_token = access
    expires = opt_num(body.get("expires_in"), "expires_in")
    login.expires_at = ctx.now + timedelta(seconds=expires if expires is not None else 3600)


def _oauth_error(body: bytes) -> tuple[str, str]:
    """``{"error": "invalid_grant", "error_description": "..."}`` or Google's ``{"error": {...}}`` envelope."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", error_text(body)
    if not isinstance(data, dict):
        return "", ""
    err = data.get("error")
    if isinstance(err, str):
        desc = data.get("error_description")
        return err, error_text(orjson.dumps({"message": desc})) if isinstance(desc, str) else ""
    return "", error_text(body)


def bearer(login: GoogleLogin, user_agent: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {login.access_token}", "Content-Type": "application/json",
            "User-Agent": user_agent}


def post(ctx: ProbeContext, method: str, login: GoogleLogin, body: dict[str, Any], user_agent: str,
         purpose: str = "probe", base: str = CODE_ASSIST_BASE) -> HttpRequest:
    return HttpRequest("POST", ctx.url(base, f"/v1internal:{method}"), json=body,
                       headers=bearer(login, user_agent), purpose=purpose)


def project_of(load: dict[str, Any]) -> str | None:
    """``cloudaicompanionProject`` from a ``loadCodeAssist`` answer (string or ``{"id": ...}``)."""
    raw = load.get("cloudaicompanionProject")
    if isinstance(raw, dict):
        raw = raw.get("id") or raw.get("projectId")
    return raw if isinstance(raw, str) and raw else None


def tier_of(load: dict[str, Any]) -> str | None:
    for key in ("paidTier", "currentTier"):
        tier = load.get(key)
        if isinstance(tier, dict) and isinstance(tier.get("id"), str):
            return str(tier["id"])
    return None


Refresh = Callable[[], Generator[HttpRequest, HttpResponse, None]]


def call(ctx: ProbeContext, method: str, login: GoogleLogin, body: dict[str, Any], user_agent: str,
         can_refresh: bool, refresh_again: Refresh) -> Generator[HttpRequest, HttpResponse, HttpResponse]:
    """One Code Assist call; a 401 with a refreshable login refreshes once and repeats it."""
    resp = yield post(ctx, method, login, body, user_agent)
    if resp.status == 401 and can_refresh:
        yield from refresh_again()
        resp = yield post(ctx, method, login, body, user_agent)
    return resp


def endpoint_limited(ctx: ProbeContext, resp: HttpResponse, name: str) -> ProbeReading:
    """A 429 of the quota endpoint itself says nothing of the models' quotas: an ERROR that backs off."""
    wait = retry_after(resp.headers, ctx.now) or 300.0
    detail = error_text(resp.body)
    return ProbeReading(outcome=Outcome.ERROR, retry_at=ctx.now + timedelta(seconds=wait),
                        reason=f"{name}: the quota endpoint is rate limited (429"
                               + (f": {detail}" if detail else "") + f"); backing off {wait:g}s")


def reset_time(raw: Any, what: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_time(raw, what)
    except MalformedResponse:
        return None


def fraction(info: dict[str, Any], what: str) -> float:
    """``remainingFraction``; absent in a present quota block means none left (proto3 leaves zeros out)."""
    value = opt_num(info.get("remainingFraction"), f"{what}.remainingFraction")
    return 0.0 if value is None else value


def jwt_email(token: Any) -> str | None:
    """The ``email`` claim of an id_token, read without verification (a label, never trusted for access)."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    email = data.get("email") if isinstance(data, dict) else None
    return email if isinstance(email, str) else None


def check(ctx: ProbeContext, resp: HttpResponse, what: str, relogin: str) -> None:
    """401/403 right after a refresh: the login is refused (INVALID, saying so); anything else as usual."""
    if resp.status in (401, 403):
        detail = error_text(resp.body)
        raise CredentialError(f"{what}: HTTP {resp.status}" + (f": {detail}" if detail else "")
                              + f" (a freshly refreshed token was rejected; {relogin})")
    check_status(resp, what, ctx.now)
