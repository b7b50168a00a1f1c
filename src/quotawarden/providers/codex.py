"""ChatGPT plans used by Codex: ``GET /backend-api/wham/usage`` (Observed, undocumented).

Windows are classified by their length (``limit_window_seconds``: 18000 -> ``5h``, 604800 -> ``7d``), never by
``primary``/``secondary``: some accounts have a weekly primary and no 5-hour window at all.
``additional_rate_limits[]`` become ``<limit_name>_<window>``; credits become a ``credits`` balance.

Credential: the access token, or the whole ``~/.codex/auth.json`` (``file:~/.codex/auth.json``), from which
``tokens.access_token`` and ``tokens.account_id`` are read.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Outcome, Unit, window_name
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import (
    SampleSet,
    arr,
    check_status,
    error_text,
    json_object,
    num,
    obj,
    opt_num,
    parse_time,
)
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://chatgpt.com"


class CodexSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str | None = None
    """The ChatGPT account id (``ChatGPT-Account-Id``); read from auth.json when the credential is that file."""


def _credentials(secret: str | None, settings: CodexSettings) -> tuple[str, str | None]:
    if not secret:
        raise CredentialError("codex: no ChatGPT access token configured")
    text = secret.strip()
    if not text.startswith("{"):
        return text, settings.account_id
    try:
        tokens = orjson.loads(text)["tokens"]
        return str(tokens["access_token"]), settings.account_id or tokens.get("account_id")
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise CredentialError("codex: auth.json has no tokens.access_token (API-key login?)") from None


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, CodexSettings) else CodexSettings()
    token, account_id = _credentials(ctx.secret, settings)
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "codex_cli_rs/0.50.0 (quotawarden)"}
    if account_id:
        headers["ChatGPT-Account-Id"] = account_id
    resp = yield HttpRequest("GET", ctx.url(BASE, "/backend-api/wham/usage"), headers=headers)
    if resp.status == 401:
        detail = error_text(resp.body)
        raise CredentialError("codex: HTTP 401" + (f": {detail}" if detail else "") + " (the ChatGPT sign-in is "
                              "expired or revoked; quotawarden reads it and does not refresh it)")
    check_status(resp, "codex", ctx.now)
    out = SampleSet.of(ctx)
    details = parse_usage(out, json_object(resp, "codex"))
    if details.pop("limit_reached", False):
        first = min((s.resets_at for s in out.samples if s.resets_at and (s.used_ratio or 0) >= 1), default=None)
        reading = out.reading(Outcome.LIMITED, "codex: plan limit reached", **details)
        return ProbeReading(reading.samples, reading.outcome, reading.reason, first, details=reading.details)
    return out.reading(**details)


def _add_window(out: SampleSet, raw: Any, what: str, prefix: str, now: datetime) -> None:
    if raw is None:
        return
    w = obj(raw, what)
    length = opt_num(w.get("limit_window_seconds"), f"{what}.limit_window_seconds")
    pct = num(w.get("used_percent"), f"{what}.used_percent")
    if not 0 <= pct <= 200:
        out.reject(prefix or what, f"used_percent {pct:g} is not a percentage")
        return
    if w.get("reset_at") is not None:
        reset: datetime | None = parse_time(w["reset_at"], f"{what}.reset_at")
    elif (after := opt_num(w.get("reset_after_seconds"), f"{what}.reset_after_seconds")) is not None:
        reset = now + timedelta(seconds=after)
    else:
        reset = None
    name = window_name(length) if length else what.rsplit(".", 1)[-1].replace("_window", "")
    out.add(f"{prefix}{name}", Unit.PERCENT, used_ratio=pct / 100, resets_at=reset,
            length_s=int(length) if length else None)


def parse_usage(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    limits = obj(body.get("rate_limit") or {}, "rate_limit")
    for key in ("primary_window", "secondary_window"):
        _add_window(out, limits.get(key), f"rate_limit.{key}", "", out.now)
    for i, extra in enumerate(arr(body.get("additional_rate_limits") or [], "additional_rate_limits")):
        item = obj(extra, f"additional_rate_limits[{i}]")
        inner = obj(item.get("rate_limit") or {}, f"additional_rate_limits[{i}].rate_limit")
        name = str(item.get("limit_name") or item.get("metered_feature") or f"extra{i}").lower().replace(" ", "_")
        for key in ("primary_window", "secondary_window"):
            _add_window(out, inner.get(key), f"additional_rate_limits[{i}].{key}", f"{name}_", out.now)
    credits = body.get("credits")
    if isinstance(credits, dict) and (credits.get("has_credits") or credits.get("unlimited")):
        balance = opt_num(credits.get("balance"), "credits.balance")
        out.add("credits", Unit.CREDITS, remaining=balance, signed=True,
                status="unlimited" if credits.get("unlimited") else None)
    return {"plan_type": body.get("plan_type"), "limit_reached": bool(limits.get("limit_reached"))}


SPEC = ProviderSpec(
    slug="codex", display_name="ChatGPT plan (Codex)", default_base_url=BASE, credential_env=("CODEX_ACCESS_TOKEN",),
    settings_model=CodexSettings, probe=probe, kind="subscription", auth="oauth",
    probe_cost="1 free GET /backend-api/wham/usage",
    docs="5-hour and weekly usage percent with resets (classified by window length), credits, plan type.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
