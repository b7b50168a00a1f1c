"""Gemini CLI / Gemini Code Assist for Google-login users: Code Assist ``retrieveUserQuota`` (Observed,
undocumented; the call Gemini CLI's own ``/stats`` makes).

Flow (every URL follows the account's ``base_url``, the token refresh included):

1. The access token of ``~/.gemini/oauth_creds.json`` while ``expiry_date`` (epoch ms) is ahead, else
   ``POST https://oauth2.googleapis.com/token`` with its ``refresh_token`` and Gemini CLI's public OAuth client;
   a 401 of a quota call refreshes once. ``400 invalid_grant`` is INVALID ("run gemini and sign in again").
2. Without a known project (``project_id``): ``POST /v1internal:loadCodeAssist`` -> ``cloudaicompanionProject``
   and the tier (``free-tier``, ``standard-tier``...).
3. ``POST /v1internal:retrieveUserQuota`` ``{"project": ...}`` -> ``buckets[{modelId, tokenType,
   remainingFraction, resetTime, remainingAmount?}]``. A ``REQUESTS`` bucket is a window named by the model id
   (other token types get ``<model>_<type>``), ``used = 1 - remainingFraction``, official, with its reset.

Confirmed: the bucket shape (a payload quoted in google-gemini/gemini-cli#14883 and gemini-cli's own
``BucketInfo`` type). Guessed (UNCONFIRMED): the window length (daily for the free tier per Google's docs, not
in the answer, left unknown) and the quota endpoint's error bodies. The refreshed token is not written back to
Gemini CLI's file (Google refresh tokens do not rotate), so a poll without a fresh token costs one refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Outcome, Unit
from quotawarden.errors import CredentialError, MalformedResponse
from quotawarden.plugins import hookimpl
from quotawarden.providers import _google as g
from quotawarden.providers._quota import SampleSet, arr, epoch_ms, json_object, obj
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

NAME = "gemini_cli"
# Gemini CLI's installed-app OAuth client, public in its source (google-gemini/gemini-cli
# packages/core/src/code_assist/oauth2.ts); not confidential for an installed application.
CLIENT_ID = "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"
CLIENT_SECRET = "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"
USER_AGENT = "GeminiCLI/0.20.0 (quotawarden)"
RELOGIN = "run gemini and sign in with Google again"


class GeminiCliSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    project_id: str | None = None
    """The Cloud project (``GOOGLE_CLOUD_PROJECT`` of Gemini CLI); default: ``loadCodeAssist``'s."""
    client_id: str = CLIENT_ID
    client_secret: str | None = CLIENT_SECRET


def login_from(secret: str | None) -> g.GoogleLogin:
    if not secret:
        raise CredentialError(f"{NAME}: no Gemini CLI credentials configured (file:~/.gemini/oauth_creds.json)")
    text = secret.strip()
    if not text.startswith("{"):
        return g.GoogleLogin(text)  # a bare refresh token
    try:
        data = obj(orjson.loads(text), "oauth_creds.json")
    except (orjson.JSONDecodeError, MalformedResponse):
        raise CredentialError(f"{NAME}: the credential is not Gemini CLI's oauth_creds.json") from None
    expiry = data.get("expiry_date")
    try:
        expires = epoch_ms(expiry, "expiry_date") if expiry is not None else None
    except MalformedResponse:
        expires = None
    access, refresh = data.get("access_token"), data.get("refresh_token")
    if not access and not refresh:
        raise CredentialError(f"{NAME}: oauth_creds.json has neither access_token nor refresh_token; {RELOGIN}")
    return g.GoogleLogin(str(refresh) if refresh else None, str(access) if access else None, expires,
                         email=g.jwt_email(data.get("id_token")))


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, GeminiCliSettings) else GeminiCliSettings()
    login = login_from(ctx.secret)
    refreshed = False

    def again() -> Generator[HttpRequest, HttpResponse, None]:
        nonlocal refreshed
        refreshed = True
        yield from g.refresh(ctx, login, NAME, settings.client_id, settings.client_secret, RELOGIN)

    if not g.fresh_access(login, ctx.now):
        yield from again()
    project = settings.project_id
    details: dict[str, Any] = {}
    if not project:
        resp = yield from g.call(ctx, "loadCodeAssist", login, {"metadata": {
            "ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}},
            USER_AGENT, bool(login.refresh_token) and not refreshed, again)
        if resp.status == 429:
            return g.endpoint_limited(ctx, resp, NAME)
        g.check(ctx, resp, f"{NAME} loadCodeAssist", RELOGIN)
        load = json_object(resp, f"{NAME} loadCodeAssist")
        project = g.project_of(load)
        details["tier"] = g.tier_of(load)
    resp = yield from g.call(ctx, "retrieveUserQuota", login, {"project": project} if project else {},
                             USER_AGENT, bool(login.refresh_token) and not refreshed, again)
    if resp.status == 429:
        return g.endpoint_limited(ctx, resp, NAME)
    g.check(ctx, resp, f"{NAME} retrieveUserQuota", RELOGIN)
    out = SampleSet.of(ctx)
    details.update(parse_buckets(out, json_object(resp, NAME)))
    details["project"] = project
    if out.samples and all((s.used_ratio or 0) >= 1 for s in out.samples):
        first = min((s.resets_at for s in out.samples if s.resets_at), default=None)
        return out.reading(Outcome.LIMITED, f"{NAME}: every model's quota is used up"
                           + (f"; the first resets {first.isoformat()}" if first else ""), **details)
    return out.reading(**details)


def parse_buckets(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    exhausted: list[str] = []
    for i, raw in enumerate(arr(body.get("buckets") or [], "buckets")):
        bucket = obj(raw, f"buckets[{i}]")
        model = bucket.get("modelId")
        if not isinstance(model, str) or not model:
            out.reject(f"buckets[{i}]", "no modelId")
            continue
        kind = str(bucket.get("tokenType") or "REQUESTS").upper()
        window = model.lower() if kind == "REQUESTS" else f"{model.lower()}_{kind.lower()}"
        left = g.fraction(bucket, f"buckets[{i}]")
        if not -1e-9 <= left <= 1 + 1e-9:
            out.reject(window, f"remainingFraction {left:g} is not a fraction")
            continue
        reset = g.reset_time(bucket.get("resetTime"), f"buckets[{i}].resetTime")
        if out.add(window, Unit.PERCENT, used_ratio=min(1.0, max(0.0, 1 - left)), resets_at=reset) and left <= 0:
            exhausted.append(window)
    return {"exhausted_models": exhausted}


SPEC = ProviderSpec(
    slug=NAME, display_name="Gemini CLI / Code Assist (Google login)", default_base_url=g.CODE_ASSIST_BASE,
    settings_model=GeminiCliSettings, probe=probe, kind="subscription", auth="oauth",
    probe_cost="1 free POST retrieveUserQuota (+1 loadCodeAssist without a project, +1 /token when expired)",
    docs="Per-model remaining fraction (used = 1 - remainingFraction) and reset from Gemini CLI's Google login.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
