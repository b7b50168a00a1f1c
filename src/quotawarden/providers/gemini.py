"""Google Gemini API keys: no rate-limit headers exist, so limits come from two places.

* Configured free-tier limits (``rpm_limit``, ``rpd_limit``, ``tpm_limit`` per account): windows with a limit
  and a reset (RPD resets at midnight Pacific time), provenance ``estimated`` since Google states no usage.
* 429 ``RESOURCE_EXHAUSTED`` bodies (:func:`read_error_body`, also for the proxy): each ``QuotaFailure``
  violation (metric, quotaId, dimensions, value) marks its window exhausted, with ``RetryInfo.retryDelay``
  (or the message's "retry in Xs") as the retry time of a per-minute violation. A per-day one (``quotaId``
  containing ``PerDay``) is not over before midnight Pacific, so the retry time is then, even when
  ``retryDelay`` says seconds (a real 429 in googleapis/python-genai#2044 names the per-day quota with
  ``retryDelay: 47s``). Detail order varies; nothing relies on position.

Probe ``models`` (default): ``GET /v1beta/models`` (free; key validity). Probe ``generate``: one
``generateContent`` with ``maxOutputTokens: 1``, which spends one request of the daily allowance but shows a
429 when a window is exhausted. A bad key is a 400 ``API_KEY_INVALID`` (not 401).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.clock import next_pacific_midnight, pacific  # noqa: F401  (re-exported)
from quotawarden.domain import Outcome, Provenance, QuotaSample, Source, Unit, limited_until
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._headers import retry_text
from quotawarden.providers._quota import SampleSet, check_status, error_text, go_duration, json_object, opt_num
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://generativelanguage.googleapis.com"
_RETRY_IN = re.compile(r"retry in ([0-9hms.]+?)\.?\s*$", re.IGNORECASE | re.MULTILINE)


class GeminiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rpm_limit: int | None = None
    rpd_limit: int | None = None
    tpm_limit: int | None = None
    model: str = "gemini-2.5-flash"
    probe: Literal["models", "generate"] = "models"


def window_of(quota_id: str) -> tuple[str, Unit, int | None]:
    q = quota_id.lower()
    unit = Unit.TOKENS if "token" in q else Unit.REQUESTS
    if "perday" in q:
        return ("tpd" if unit is Unit.TOKENS else "rpd"), unit, 86400
    return ("tpm" if unit is Unit.TOKENS else "rpm"), unit, 60


def retry_delay(error: dict[str, Any]) -> float | None:
    for d in error.get("details") or []:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            return go_duration(str(d.get("retryDelay", "")))
    m = _RETRY_IN.search(str(error.get("message", "")))
    return go_duration(m.group(1)) if m else None


def read_error_body(account_id: str, status: int, body: bytes, now: datetime, *,
                    source: Source = Source.PROXY) -> tuple[list[QuotaSample], float | None]:
    """Samples for every exhausted quota named in a 429 body, and the retry delay in seconds."""
    if status != 429:
        return [], None
    try:
        error = orjson.loads(body).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return [], None
    delay = retry_delay(error)
    out = SampleSet(account_id, now, source)
    for d in error.get("details") or []:
        if not (isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.QuotaFailure")):
            continue
        for v in d.get("violations") or []:
            if not isinstance(v, dict):
                continue
            window, unit, length = window_of(str(v.get("quotaId") or v.get("quotaMetric") or ""))
            try:
                limit = opt_num(v.get("quotaValue"), "quotaValue")
            except Exception:
                limit = None
            reset = next_pacific_midnight(now) if length == 86400 else \
                now + timedelta(seconds=delay if delay is not None else 60)
            out.add(window, unit, used_ratio=1.0, limit=limit, used=limit, remaining=0.0 if limit else None,
                    resets_at=reset, length_s=length, status="RESOURCE_EXHAUSTED")
    return out.samples, delay


def configured(ctx: ProbeContext, settings: GeminiSettings, exhausted: set[str]) -> list[QuotaSample]:
    out = SampleSet.of(ctx)
    for window, limit, unit, length, reset in (
            ("rpm", settings.rpm_limit, Unit.REQUESTS, 60, ctx.now + timedelta(seconds=60)),
            ("tpm", settings.tpm_limit, Unit.TOKENS, 60, ctx.now + timedelta(seconds=60)),
            ("rpd", settings.rpd_limit, Unit.REQUESTS, 86400, next_pacific_midnight(ctx.now))):
        if limit and window not in exhausted:
            out.add(window, unit, limit=float(limit), resets_at=reset, length_s=length,
                    provenance=Provenance.ESTIMATED)
    return out.samples


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, GeminiSettings) else GeminiSettings()
    if not ctx.secret:
        raise CredentialError("gemini: no API key configured")
    headers = {"x-goog-api-key": ctx.secret, "Content-Type": "application/json"}
    if settings.probe == "generate":
        resp = yield HttpRequest(
            "POST", ctx.url(BASE, f"/v1beta/models/{settings.model}:generateContent"), headers=headers,
            cost_tokens=3, json={"contents": [{"parts": [{"text": "."}]}],
                                 "generationConfig": {"maxOutputTokens": 1}})
    else:
        resp = yield HttpRequest("GET", ctx.url(BASE, "/v1beta/models"), headers=headers)
    return read_probe_response(ctx, settings, resp)


def read_probe_response(ctx: ProbeContext, settings: GeminiSettings, resp: HttpResponse) -> ProbeReading:
    if resp.status == 400 and b"API_KEY_INVALID" in resp.body:
        raise CredentialError(f"gemini: API key not valid (400 API_KEY_INVALID): {error_text(resp.body)}")
    if resp.status == 429:
        samples, delay = read_error_body(ctx.account.id, 429, resp.body, ctx.now, source=Source.PROBE)
        windows = {s.window for s in samples}
        # a per-day violation frees nothing before midnight Pacific, whatever retryDelay says
        retry_at = limited_until(ctx.now, ctx.now + timedelta(seconds=delay) if delay is not None else None, samples)
        return ProbeReading(samples=samples + configured(ctx, settings, windows), outcome=Outcome.LIMITED,
                            retry_at=retry_at,
                            reason=f"gemini: quota exhausted ({', '.join(sorted(windows)) or 'RESOURCE_EXHAUSTED'})"
                                   + retry_text(ctx.now, retry_at))
    check_status(resp, "gemini", ctx.now)
    body = json_object(resp, "gemini")
    if settings.probe == "generate" and not isinstance(body.get("usageMetadata"), dict):
        return ProbeReading(outcome=Outcome.ERROR, reason="gemini: answer without usageMetadata (malformed body)")
    samples = configured(ctx, settings, set())
    return ProbeReading(samples=samples, reason="" if samples else "key valid; set rpm_limit/rpd_limit to track "
                                                                   "free-tier windows")


SPEC = ProviderSpec(
    dialect="gemini",
    slug="gemini", display_name="Google Gemini API", default_base_url=BASE,
    credential_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"), settings_model=GeminiSettings, probe=probe, kind="api",
    probe_cost="1 free GET /v1beta/models (probe=\"generate\": 1 request of the daily allowance, ~3 tokens)",
    docs="Key validity; configured RPM/TPM/RPD (estimated), exhausted windows from 429 violations with retry.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
