"""Claude subscriptions (Pro, Max, Team seats) through OAuth: unified headers and the OAuth usage endpoint.

* Header reader (proxy and status-line traffic, preferred): every ``anthropic-ratelimit-unified-<window>-
  {utilization,reset,status,surpassed-threshold}`` is read generically (fraction 0..1 that may exceed 1, epoch
  resets); ``7d-sonnet`` and ``7d_sonnet`` name one window. Overage headers give an ``overage`` window, and
  :func:`overage_in_use` tells when an answer came from paid extra usage (the OVERAGE state). A window whose own
  ``-status`` is ``rejected`` means LIMITED even without the overall ``-status`` (a real exhausted-window 429 in
  Yeachan-Heo/gajae-code#2444 carried only the ``5h`` headers and ``retry-after``); a rejected window without its
  own ``-reset`` reopens at ``retry-after``.
* Probe: ``GET /api/oauth/usage`` (percent 0..100, ISO resets, ``limits[]``, ``extra_usage`` in cents). The
  endpoint is itself heavily rate limited: one probe per 3 minutes at most, a 429 backs off (``retry_at``)
  and is reported as an ERROR of the endpoint, not as the plan being limited.
* Credential: an access token, or the whole Claude Code credentials JSON (``file:~/.claude/.credentials.json``).
  With the JSON and ``refresh = true``, an expired token is refreshed (``POST /v1/oauth/token``) and the
  rotated tokens are written back to that file (refresh tokens are single-use).

Guessed (UNCONFIRMED): the token endpoint's answer (standard OAuth2 JSON) and its path on a ``base_url``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Outcome, QuotaSample, Source, Unit, window_scope
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import (
    SampleSet,
    arr,
    check_status,
    error_text,
    json_object,
    log,
    num,
    obj,
    opt_num,
    parse_time,
    retry_after,
)
from quotawarden.spec import Headers, HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.anthropic.com"
TOKEN_BASE = "https://platform.claude.com"
CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
BETA = "oauth-2025-04-20"
PREFIX = "anthropic-ratelimit-unified-"
_FIELD = re.compile(r"^(.+)-(utilization|reset|status|surpassed-threshold)$")
LENGTHS = {"5h": 18000, "7d": 604800, "overage": None}
OVERAGE_UNAVAILABLE = "unavailable"
"""The ``overage`` window's status when the answer says paid extra usage is ``rejected`` (off or not offered)."""
# usage endpoint keys -> window names
KEYS = {"five_hour": "5h", "seven_day": "7d"}
SECRET_UPDATE = "_secret_update"


class ClaudeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh: bool = False
    """Refresh an expired OAuth token (needs the credentials JSON as the credential; rotates its tokens)."""


def _window(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _length(window: str) -> int | None:
    return LENGTHS.get(window, 604800 if window.startswith("7d") else None)


@dataclass(frozen=True, slots=True)
class UnifiedHeaders:
    hosts: tuple[str, ...] = ("api.anthropic.com",)

    def matches(self, host: str, path: str) -> bool:
        return host.lower() in self.hosts and path.startswith("/v1/")

    def read(self, account_id: str, status: int, headers: Headers, now: datetime, *,
             source: Source = Source.PROXY) -> list[QuotaSample]:
        fields: dict[str, dict[str, str]] = {}
        for name in headers:
            if name.startswith(PREFIX) and (m := _FIELD.match(name[len(PREFIX):])):
                fields.setdefault(_window(m.group(1)), {})[m.group(2)] = headers[name]
        out = SampleSet(account_id, now, source)
        wait = retry_after(headers, now) if status == 429 else None
        for window, f in sorted(fields.items()):
            try:
                ratio = opt_num(f.get("utilization"), f"{window}-utilization")
                reset = parse_time(f["reset"], f"{window}-reset") if f.get("reset") else None
            except Exception as exc:  # odd headers never crash a reading
                log.warning("%s: ignoring unreadable unified header for %s: %s", account_id, window, exc)
                continue
            if ratio is None and window != "overage":
                continue
            if reset is None and wait is not None and f.get("status") == "rejected" and window != "overage":
                reset = now + timedelta(seconds=wait)  # nothing else says when the rejected window reopens
            said = f.get("status")
            if window == "overage" and said == "rejected":
                # paid extra usage is not available (e.g. ``overage-disabled-reason: org_level_disabled`` on a
                # healthy 200): that says nothing of the plan's windows, so it must not read as an exhausted window
                said = OVERAGE_UNAVAILABLE
            out.add(window, Unit.PERCENT, used_ratio=ratio, resets_at=reset, status=said,
                    length_s=_length(window))
        return out.samples


HEADERS = UnifiedHeaders()


def rejected_windows(headers: Headers) -> list[str]:
    """Plan windows whose own ``-status`` is ``rejected`` (an exhausted-window 429 may carry only these, without
    the overall ``anthropic-ratelimit-unified-status``)."""
    out = []
    for name in headers:
        if name.startswith(PREFIX) and (m := _FIELD.match(name[len(PREFIX):])) and m.group(2) == "status" \
                and headers[name] == "rejected" and _window(m.group(1)) != "overage":
            out.append(_window(m.group(1)))
    return sorted(out)


def plan_rejected(headers: Headers) -> bool:
    return headers.get(PREFIX + "status") == "rejected" or bool(rejected_windows(headers))


def overage_in_use(headers: Headers) -> bool:
    """Claude Code's rule: the plan is exhausted (``rejected``) and paid overage answers instead."""
    if str(headers.get(PREFIX + "overage-in-use", "")).lower() == "true":
        return True
    return plan_rejected(headers) and headers.get(PREFIX + "overage-status") in ("allowed", "allowed_warning")


def header_outcome(headers: Headers) -> tuple[Outcome, str]:
    """The account state a proxied answer implies (OVERAGE beats LIMITED: money is being spent)."""
    if overage_in_use(headers):
        return Outcome.OVERAGE, "claude: plan limit reached; answering from paid extra usage"
    if plan_rejected(headers):
        claim = headers.get(PREFIX + "representative-claim") or ", ".join(rejected_windows(headers)) or "plan"
        return Outcome.LIMITED, f"claude: {claim} limit reached"
    return Outcome.OK, ""


@dataclass
class _Creds:
    access: str
    refresh: str | None = None
    expires_at: datetime | None = None
    from_json: bool = False


def _credentials(secret: str | None) -> _Creds:
    if not secret:
        raise CredentialError("claude: no OAuth token configured")
    text = secret.strip()
    if not text.startswith("{"):
        return _Creds(text)
    try:
        data = orjson.loads(text)
        oauth = data.get("claudeAiOauth", data)
        expires = oauth.get("expiresAt")
        return _Creds(str(oauth["accessToken"]), oauth.get("refreshToken"),
                      parse_time(expires, "expiresAt") if expires else None, True)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise CredentialError("claude: the credentials file has no claudeAiOauth.accessToken") from None


def _usage_request(ctx: ProbeContext, token: str) -> HttpRequest:
    return HttpRequest("GET", ctx.url(BASE, "/api/oauth/usage"), headers={
        "Authorization": f"Bearer {token}", "anthropic-beta": BETA, "Content-Type": "application/json",
        "User-Agent": "quotawarden"})


def _refresh_request(ctx: ProbeContext, refresh: str) -> HttpRequest:
    return HttpRequest("POST", ctx.url(TOKEN_BASE, "/v1/oauth/token"), purpose="refresh", json={
        "grant_type": "refresh_token", "refresh_token": refresh, "client_id": CLIENT_ID})


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, ClaudeSettings) else ClaudeSettings()
    creds = _credentials(ctx.secret)
    can_refresh = settings.refresh and creds.from_json and bool(creds.refresh)
    update: dict[str, Any] | None = None
    if can_refresh and creds.expires_at is not None and creds.expires_at <= ctx.now:
        update = yield from _refresh(ctx, creds)
    resp = yield _usage_request(ctx, creds.access)
    if resp.status == 401 and can_refresh and update is None:
        update = yield from _refresh(ctx, creds)
        resp = yield _usage_request(ctx, creds.access)
    if resp.status == 401 and update is None and creds.expires_at is not None and creds.expires_at <= ctx.now:
        why = ("set refresh = true on the account to refresh it" if creds.refresh and creds.from_json
               else "the credential has no refresh token")
        raise CredentialError(f"claude: the sign-in expired {creds.expires_at.isoformat()} and cannot be refreshed "
                              f"here ({why})")
    if resp.status == 401 and update is not None:
        raise CredentialError(f"claude: HTTP 401 right after a token refresh: {error_text(resp.body)} (the sign-in "
                              "is refused)")
    reading = read_usage_response(ctx, resp)
    if update is not None:
        reading.details[SECRET_UPDATE] = update
    return reading


def _refresh(ctx: ProbeContext, creds: _Creds) -> Generator[HttpRequest, HttpResponse, dict[str, Any]]:
    assert creds.refresh is not None
    resp = yield _refresh_request(ctx, creds.refresh)
    if resp.status != 200:
        raise CredentialError(f"claude: token refresh failed (HTTP {resp.status}: {error_text(resp.body)}); "
                              "sign in to Claude Code again")
    body = json_object(resp, "claude token refresh")
    creds.access = str(body.get("access_token") or "")
    if not creds.access:
        raise CredentialError("claude: token refresh answered without an access token")
    creds.refresh = str(body.get("refresh_token") or creds.refresh)
    expires = ctx.now + timedelta(seconds=num(body.get("expires_in", 28800), "expires_in"))
    return {"claudeAiOauth": {"accessToken": creds.access, "refreshToken": creds.refresh,
                              "expiresAt": int(expires.timestamp() * 1000)}}


def read_usage_response(ctx: ProbeContext, resp: HttpResponse) -> ProbeReading:
    if resp.status == 429:
        wait = retry_after(resp.headers, ctx.now) or 300.0
        return ProbeReading(outcome=Outcome.ERROR, retry_at=ctx.now + timedelta(seconds=wait),
                            reason=f"claude: the usage endpoint is rate limited (429); backing off {wait:g}s")
    if resp.status == 403:
        raise CredentialError(f"claude: HTTP 403: {error_text(resp.body)} (a setup-token lacks user:profile; "
                              "use the Claude Code login or the proxy)")
    check_status(resp, "claude", ctx.now)
    out = SampleSet.of(ctx)
    details = parse_usage(out, json_object(resp, "claude"))
    outcome, reason = Outcome.OK, ""
    if details.get("overage_in_use"):
        outcome, reason = Outcome.OVERAGE, "claude: plan window exhausted; extra usage (paid) is being spent"
    elif details.get("exhausted"):
        outcome, reason = Outcome.LIMITED, f"claude: {details['exhausted']} limit reached"
    return out.reading(outcome, reason, **details)


def parse_usage(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    """Samples from the usage answer; ``exhausted`` names the first used-up account-wide window (the plan is
    LIMITED), ``exhausted_models`` the used-up model-scoped caps (``7d_opus``: that model only, the account still
    answers with the others)."""
    exhausted = ""
    models: list[str] = []
    for key, raw in body.items():
        if raw is None or key in ("extra_usage", "limits") or not isinstance(raw, dict) or \
                "utilization" not in raw:
            continue
        window = KEYS.get(key) or (f"7d_{key[len('seven_day_'):]}" if key.startswith("seven_day_") else key)
        pct = opt_num(raw.get("utilization"), f"{key}.utilization")
        if pct is None:
            continue
        if not 0 <= pct <= 200:
            out.reject(window, f"utilization {pct:g} is not a percentage")
            continue
        reset = parse_time(raw["resets_at"], f"{key}.resets_at") if raw.get("resets_at") else None
        out.add(window, Unit.PERCENT, used_ratio=pct / 100, resets_at=reset, length_s=_length(window))
        if pct >= 100 and window_scope(window) is not None:
            models.append(window)
        elif pct >= 100 and not exhausted:
            exhausted = window
    seen = {s.window for s in out.samples}
    for i, raw in enumerate(arr(body.get("limits") or [], "limits")):
        item = obj(raw, f"limits[{i}]")
        scope = obj(item.get("scope") or {}, f"limits[{i}].scope")
        model = obj(scope.get("model") or {}, f"limits[{i}].scope.model").get("display_name")
        if item.get("kind") != "weekly_scoped" or not model or f"7d_{str(model).lower()}" in seen:
            continue
        pct = num(item.get("percent"), f"limits[{i}].percent")
        reset = parse_time(item["resets_at"], f"limits[{i}].resets_at") if item.get("resets_at") else None
        out.add(f"7d_{str(model).lower()}", Unit.PERCENT, used_ratio=pct / 100, resets_at=reset, length_s=604800)
    details: dict[str, Any] = {"exhausted": exhausted}
    if models:
        details["exhausted_models"] = models
    extra = body.get("extra_usage")
    if isinstance(extra, dict) and extra.get("is_enabled"):
        used = opt_num(extra.get("used_credits"), "extra_usage.used_credits")
        limit = opt_num(extra.get("monthly_limit"), "extra_usage.monthly_limit")
        pct = opt_num(extra.get("utilization"), "extra_usage.utilization")
        out.add("extra_usage", Unit.USD, used=used / 100 if used is not None else None,
                limit=limit / 100 if limit is not None else None,
                used_ratio=pct / 100 if pct is not None else None, length_s=None)
        details["overage_in_use"] = bool(exhausted and used)
    return details


SPEC = ProviderSpec(
    dialect="anthropic",
    slug="claude", display_name="Claude subscription (OAuth)", default_base_url=BASE,
    credential_env=("CLAUDE_CODE_OAUTH_TOKEN",), settings_model=ClaudeSettings, probe=probe, headers=HEADERS,
    kind="subscription", auth="oauth", probe_min_interval_s=180,
    probe_cost="1 free GET /api/oauth/usage (at most every 3 min; +1 POST when a token is refreshed)",
    docs="5-hour, weekly and model-scoped weekly utilisation (percent), resets, extra usage in USD; OVERAGE.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
