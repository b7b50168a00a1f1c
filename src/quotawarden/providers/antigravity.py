"""Google Antigravity, per Google account, per model: Cloud Code Assist ``fetchAvailableModels`` (Observed,
undocumented), read the way the OpenCode Antigravity plug-in and the public quota tools read it.

Flow (every URL follows the account's ``base_url``, the token refresh included):

1. ``POST https://oauth2.googleapis.com/token`` (form: ``grant_type=refresh_token``, the account's refresh token,
   the Antigravity OAuth client) -> an access token. ``400 invalid_grant`` (revoked, expired, password changed)
   is INVALID with Google's reason and how to sign in again; no token is ever part of a reason.
2. Without a known project: ``POST /v1internal:loadCodeAssist`` -> ``cloudaicompanionProject``.
3. ``POST /v1internal:fetchAvailableModels`` ``{"project": ...}`` -> ``models{id: {displayName,
   quotaInfo{remainingFraction, resetTime}}}``. Each model with a ``quotaInfo`` is a window named by its id,
   ``used = 1 - remainingFraction`` (percent unit, official), reset from ``resetTime``. A ``quotaInfo`` without
   ``remainingFraction`` is an exhausted model (zero is left out of the JSON). Models without ``quotaInfo`` are
   internal and skipped. The account is LIMITED only when every model is exhausted; one exhausted model is a
   model-scoped cap (``details.exhausted_models``), the others still answer.
4. ``POST /v1internal:retrieveUserQuotaSummary`` ``{"project": ...}`` -> ``groups[{displayName, description,
   buckets[{bucketId, displayName, window: "weekly"|"5h", resetTime, remainingFraction}]}]``: each model family's
   (``Gemini Models``, ``Claude and GPT models``) weekly and five-hour pools, which ``fetchAvailableModels`` does
   not show (a model can read 100% there while its family's week is used up). Windows ``7d_gemini``,
   ``5h_claude_and_gpt``... (``domain.scoped_window``: model-scoped caps, lengths 7 days and 5 hours). The shape
   and the endpoint as router-for-me/CLIProxyAPI#3876 and router-for-me/Cli-Proxy-API-Management-Center#317
   describe them (Observed: no stored capture); an account without it (any error status) keeps the per-model
   reading, with ``details.quota_summary`` saying why.

Host: ``https://daily-cloudcode-pa.googleapis.com``, the one the Antigravity CLI and the capture above use (the
production host is said to answer Antigravity accounts with a placeholder 100% view: bernardopg/AiOverviewControl#30).

Credential (by reference; nothing is copied): one account entry of the OpenCode Antigravity plug-in's
``~/.config/opencode/antigravity-accounts.json`` (``file:...#accounts[email=you@gmail.com]``: ``refreshToken``,
``projectId``, ``managedProjectId``), the whole file with ``email`` set, or a bare refresh token (the plug-in's
``token|project|managedProject`` form is understood).

The OAuth client defaults to the public Antigravity installed-app client that the plug-in and the other public
tools send (Google does not treat an installed app's client secret as confidential); ``client_id`` and
``client_secret`` override it.

Guessed (UNCONFIRMED): the window length (not in the answer, left unknown) and the 401/403/429 bodies of the
quota endpoint (Google's usual ``{"error": {"code", "message", "status"}}`` envelope).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Outcome, Unit, scoped_window
from quotawarden.errors import CredentialError, ProviderError
from quotawarden.plugins import hookimpl
from quotawarden.providers import _google as g
from quotawarden.providers._quota import SampleSet, check_status, json_object, obj
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

NAME = "antigravity_quota"
BASE = "https://daily-cloudcode-pa.googleapis.com"
SUMMARY_WINDOWS = {"weekly": ("7d", 7 * 86400), "5h": ("5h", 5 * 3600)}
CLIENT_ID = "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com"
# the public installed-app client the plug-in sends (NoeFabris/opencode-antigravity-auth src/constants.ts)
CLIENT_SECRET = "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"
USER_AGENT = "antigravity/1.18.3 (quotawarden)"
RELOGIN = "sign in to this Google account again (opencode auth login, Antigravity)"


class AntigravitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = None
    """Which account of a whole accounts file to read (not needed with ``#accounts[email=...]``)."""
    project_id: str | None = None
    """The Cloud project to ask about; default: the account entry's, else ``loadCodeAssist``'s."""
    client_id: str = CLIENT_ID
    client_secret: str | None = CLIENT_SECRET


def login_from(secret: str | None, email: str | None) -> g.GoogleLogin:
    if not secret:
        raise CredentialError(f"{NAME}: no refresh token configured")
    text = secret.strip()
    if not text.startswith("{"):
        bare, _, rest = text.partition("|")
        first, _, managed = rest.partition("|")
        return g.GoogleLogin(bare, project=managed or first or None)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise CredentialError(f"{NAME}: the credential is not a refresh token nor an accounts JSON") from None
    if isinstance(data, dict) and isinstance(data.get("accounts"), list):
        entries = [a for a in data["accounts"] if isinstance(a, dict)]
        chosen = [a for a in entries if email and a.get("email") == email] if email else entries
        if len(chosen) != 1:
            raise CredentialError(f"{NAME}: the accounts file holds {len(entries)} accounts; "
                                  + (f"none is {email}" if email else "set email to pick one"))
        data = chosen[0]
    if not isinstance(data, dict):
        raise CredentialError(f"{NAME}: the credential JSON is not an account entry")
    token = data.get("refreshToken") or data.get("refresh_token")
    project = data.get("managedProjectId") or data.get("projectId") or data.get("project_id")
    return g.GoogleLogin(str(token) if token else None, project=str(project) if project else None,
                         email=data.get("email") if isinstance(data.get("email"), str) else None)


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, AntigravitySettings) else AntigravitySettings()
    login = login_from(ctx.secret, settings.email)

    def again() -> Generator[HttpRequest, HttpResponse, None]:
        yield from g.refresh(ctx, login, NAME, settings.client_id, settings.client_secret, RELOGIN)

    yield from again()
    project = settings.project_id or login.project
    details: dict[str, Any] = {}
    if not project:
        resp = yield g.post(ctx, "loadCodeAssist", login, {"metadata": {"ideType": "ANTIGRAVITY",
                                                                        "pluginType": "GEMINI"}}, USER_AGENT,
                            base=BASE)
        if resp.status == 429:
            return g.endpoint_limited(ctx, resp, NAME)
        g.check(ctx, resp, f"{NAME} loadCodeAssist", RELOGIN)
        load = json_object(resp, f"{NAME} loadCodeAssist")
        project = g.project_of(load)
        details["tier"] = g.tier_of(load)
    resp = yield g.post(ctx, "fetchAvailableModels", login, {"project": project} if project else {}, USER_AGENT,
                        base=BASE)
    if resp.status == 429:
        return g.endpoint_limited(ctx, resp, NAME)
    g.check(ctx, resp, f"{NAME} fetchAvailableModels", RELOGIN)
    out = SampleSet.of(ctx)
    details.update(parse_models(out, json_object(resp, NAME)))
    details["project"] = project
    per_model = list(out.samples)
    resp = yield g.post(ctx, "retrieveUserQuotaSummary", login, {"project": project} if project else {},
                        USER_AGENT, base=BASE)
    try:  # the per-model reading stands whatever this answers; the family pools are then unknown
        check_status(resp, f"{NAME} retrieveUserQuotaSummary", ctx.now)
        details["quota_summary"] = parse_summary(out, json_object(resp, f"{NAME} retrieveUserQuotaSummary"))
    except (ProviderError, CredentialError) as exc:  # refused here only: the models call was answered
        details["quota_summary"] = f"not available: {exc}"
    if per_model and all((s.used_ratio or 0) >= 1 for s in per_model):
        first = min((s.resets_at for s in per_model if s.resets_at), default=None)
        reason = f"{NAME}: every model's quota is used up" + (f"; the first resets {first.isoformat()}"
                                                               if first else "")
        return out.reading(Outcome.LIMITED, reason, **details)
    return out.reading(**details)


def parse_models(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    models = body.get("models") or {}
    exhausted: list[str] = []
    names: dict[str, str] = {}
    for model_id, raw in sorted(obj(models, "models").items()):
        entry = obj(raw, f"models.{model_id}")
        info = entry.get("quotaInfo")
        if not isinstance(info, dict):
            continue
        left = g.fraction(info, f"models.{model_id}.quotaInfo")
        if not -1e-9 <= left <= 1 + 1e-9:
            out.reject(model_id, f"remainingFraction {left:g} is not a fraction")
            continue
        reset = g.reset_time(info.get("resetTime"), f"models.{model_id}.quotaInfo.resetTime")
        window = str(model_id).strip().lower()
        if out.add(window, Unit.PERCENT, used_ratio=min(1.0, max(0.0, 1 - left)), resets_at=reset) and left <= 0:
            exhausted.append(window)
        if isinstance(entry.get("displayName"), str):
            names[window] = entry["displayName"]
    return {"models": names, "exhausted_models": exhausted}


def parse_summary(out: SampleSet, body: dict[str, Any]) -> list[str]:
    """Each family's weekly and five-hour pool as a model-scoped window (``7d_gemini``); the windows added."""
    groups = body.get("groups")
    if groups is None and isinstance(body.get("quotaSummary"), dict):
        groups = body["quotaSummary"].get("groups")
    added: list[str] = []
    for gi, raw in enumerate(groups or []):
        group = obj(raw, f"groups[{gi}]")
        family = re.sub(r"(?i)\bmodels?\b", "", str(group.get("displayName") or "")).strip()
        for bi, braw in enumerate(group.get("buckets") or []):
            bucket = obj(braw, f"groups[{gi}].buckets[{bi}]")
            kind = str(bucket.get("window") or str(bucket.get("bucketId") or "").rpartition("-")[2]).lower()
            if kind not in SUMMARY_WINDOWS or not family:
                continue
            base, length = SUMMARY_WINDOWS[kind]
            window = scoped_window(base, family)
            what = f"groups[{gi}].buckets[{bi}]"
            left = 0.0 if bucket.get("disabled") is True else g.fraction(bucket, what)
            if not -1e-9 <= left <= 1 + 1e-9:
                out.reject(window, f"remainingFraction {left:g} is not a fraction")
                continue
            if out.add(window, Unit.PERCENT, used_ratio=min(1.0, max(0.0, 1 - left)), length_s=length,
                       resets_at=g.reset_time(bucket.get("resetTime"), f"{what}.resetTime")):
                added.append(window)
    return added


SPEC = ProviderSpec(
    slug=NAME, display_name="Antigravity quotas (per Google account, per model)", default_base_url=BASE,
    settings_model=AntigravitySettings, probe=probe, kind="subscription", auth="oauth",
    probe_cost="1 free POST oauth2 /token + 1 POST fetchAvailableModels + 1 POST retrieveUserQuotaSummary "
               "(+1 loadCodeAssist without a project)",
    docs="Antigravity's quotas, one account per Google login: per-model remaining fraction (used = 1 - "
         "remainingFraction) and reset; a dead refresh token is INVALID. The app's local logs are antigravity.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
