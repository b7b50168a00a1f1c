"""GitHub Copilot: ``GET api.github.com/copilot_internal/user`` (Observed, internal) with a GitHub OAuth user
token (``Authorization: token gho_...``), never the short-lived Copilot session token.

Paid plans: ``quota_snapshots.{premium_interactions, chat, completions}`` each with ``entitlement``,
``remaining`` (rounded), ``quota_remaining`` (exact), ``percent_remaining`` (0..100), ``unlimited``,
``overage_count``, ``overage_permitted``; monthly reset from ``quota_reset_date_utc``. Free plan:
``monthly_quotas`` (totals) and ``limited_user_quotas`` (**remaining**), reset ``limited_user_reset_date``.

Paid overage (``overage_count > 0``) sets the ``OVERAGE`` outcome. Over the allowance (``quota_remaining`` below
zero, ``percent_remaining`` negative: confirmed by a real answer, see tests/providers/copilot/SOURCES.md) the window
is exhausted, never dropped: used = entitlement - remaining (past the entitlement), remaining 0, a used ratio of 1
or more (capped at ``MAX_RATIO``), status ``exhausted``, and the outcome LIMITED, or OVERAGE when
``overage_permitted`` says paid overage carries on. Guessed: after the 2026-06 move to
"GitHub AI Credits" a snapshot carrying ``credits_used`` is read in credits rather than requests.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from quotawarden.domain import Outcome, Unit
from quotawarden.errors import CredentialError
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import (
    MAX_RATIO,
    SampleSet,
    arr,
    bearer,
    check_status,
    json_object,
    money,
    next_utc_period,
    num,
    obj,
    opt_num,
    parse_time,
)
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.github.com"
HEADERS = {"Accept": "application/json", "Editor-Version": "vscode/1.96.2",
           "Editor-Plugin-Version": "copilot-chat/0.26.7", "User-Agent": "GitHubCopilotChat/0.26.7",
           "X-GitHub-Api-Version": "2025-04-01"}
_SNAPSHOTS = {"premium_interactions": "premium", "chat": "chat", "completions": "completions"}
_MONTH = 30 * 86400


@dataclass
class _Premium:
    """What the snapshots say about paid overage and an exhausted allowance."""

    overage: float = 0.0
    permitted: bool = False
    over: list[str] = field(default_factory=list)
    """Windows used past their allowance (``remaining`` below zero), as ``"<window> <used> of <entitlement>"``."""
    resets_at: datetime | None = None
    """The soonest reset of those windows."""


def _snapshot(out: SampleSet, window: str, snap: dict[str, Any], reset: Any, premium: _Premium) -> None:
    what = f"quota_snapshots.{window}"
    resets_at = parse_time(snap["quota_reset_at"], f"{what}.quota_reset_at") if snap.get("quota_reset_at") else reset
    overage = opt_num(snap.get("overage_count"), f"{what}.overage_count") or 0.0
    premium.overage += overage
    if snap.get("unlimited"):
        out.add(window, Unit.REQUESTS, used_ratio=0.0, status="unlimited", resets_at=resets_at, length_s=_MONTH)
        return
    entitlement = num(snap.get("entitlement", 0), f"{what}.entitlement")
    exact = snap.get("quota_remaining", snap.get("remaining"))
    remaining = num(exact, f"{what}.quota_remaining") if exact is not None else None
    if entitlement == 0 and not remaining:
        return  # a placeholder, not a quota
    unit = Unit.REQUESTS
    used = entitlement - remaining if remaining is not None else None
    if snap.get("credits_used") is not None:
        unit, used = Unit.CREDITS, num(snap["credits_used"], f"{what}.credits_used")
    over = remaining is not None and remaining < 0 and entitlement > 0
    pct = opt_num(snap.get("percent_remaining"), f"{what}.percent_remaining")
    if pct is not None and not (pct <= 100 and (pct >= 0 or over)):
        out.reject(window, f"percent_remaining {pct:g} is outside 0..100")
        return
    ratio = 1.0 - pct / 100.0 if pct is not None else None
    if over:  # past the allowance: exhausted (nothing remains, used is the true count), the ratio capped for display
        ratio = min(max(ratio if ratio is not None else 0.0, (used or entitlement) / entitlement, 1.0), MAX_RATIO)
        premium.permitted = premium.permitted or bool(snap.get("overage_permitted"))
        premium.over.append(f"{window} {used:g} of {entitlement:g}")
        if resets_at is not None:
            premium.resets_at = min(resets_at, premium.resets_at or resets_at)
    status = "overage" if overage > 0 or (over and snap.get("overage_permitted")) else "exhausted" if over else None
    out.add(window, unit, limit=entitlement, remaining=_floor0(remaining), used=_floor0(used), used_ratio=ratio,
            resets_at=resets_at, status=status, length_s=_MONTH)


def _floor0(value: float | None) -> float | None:
    return max(value, 0.0) if value is not None else None


def parse_user(out: SampleSet, body: dict[str, Any]) -> tuple[_Premium, dict[str, Any]]:
    """Samples from a paid or a free user; returns the overage and over-allowance facts, and details."""
    reset_raw = body.get("quota_reset_date_utc") or body.get("quota_reset_date") or body.get("limited_user_reset_date")
    reset = parse_time(reset_raw, "quota_reset_date") if reset_raw else None
    premium = _Premium()
    snapshots = body.get("quota_snapshots")
    if isinstance(snapshots, dict):
        for key, window in _SNAPSHOTS.items():
            if isinstance(snapshots.get(key), dict):
                _snapshot(out, window, snapshots[key], reset, premium)
    totals, left = body.get("monthly_quotas"), body.get("limited_user_quotas")
    if isinstance(totals, dict) and isinstance(left, dict):
        for key in ("chat", "completions"):
            if key in totals and key in left:
                limit = num(totals[key], f"monthly_quotas.{key}")
                remaining = num(left[key], f"limited_user_quotas.{key}")
                out.add(key, Unit.REQUESTS, limit=limit, remaining=remaining, used=max(limit - remaining, 0.0),
                        resets_at=reset, length_s=_MONTH)
    details: dict[str, Any] = {k: body[k] for k in ("login", "copilot_plan", "access_type_sku", "chat_enabled",
                                    "token_based_billing") if k in body}
    return premium, details


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    if not ctx.secret:
        raise CredentialError("copilot: no GitHub OAuth token configured")
    resp = yield HttpRequest("GET", ctx.url(BASE, "/copilot_internal/user"),
                             headers={**HEADERS, "Authorization": f"token {ctx.secret}"})
    if resp.status == 404:
        raise CredentialError("copilot: HTTP 404: this GitHub account has no Copilot seat")
    check_status(resp, "copilot", ctx.now)
    out = SampleSet.of(ctx)
    premium, details = parse_user(out, json_object(resp, "copilot"))
    over = "; ".join(premium.over)
    until = f", resets {premium.resets_at.date().isoformat()}" if premium.resets_at else ""
    if premium.overage > 0:
        return out.reading(Outcome.OVERAGE, f"copilot: {premium.overage:g} premium requests billed as paid overage",
                           overage_count=premium.overage, **details)
    if over and premium.permitted:
        return out.reading(Outcome.OVERAGE, f"copilot: over the allowance ({over}), paid overage permitted{until}",
                           **details)
    if over:
        return out.reading(Outcome.LIMITED, f"copilot: allowance exhausted ({over}){until}", **details)
    return out.reading(**details)


class BillingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(pattern=r"^[A-Za-z0-9\-]{1,39}$")
    """The GitHub username whose premium-request usage the fine-grained token may read."""


def parse_premium_usage(out: SampleSet, body: dict[str, Any]) -> dict[str, Any]:
    """The official billing report: premium requests this month per model, gross and net dollars."""
    by_model: dict[str, dict[str, str]] = {}
    total = 0.0
    net = Decimal(0)
    for i, raw in enumerate(arr(body.get("usageItems"), "usageItems")):
        item = obj(raw, f"usageItems[{i}]")
        qty = num(item.get("grossQuantity", 0), f"usageItems[{i}].grossQuantity")
        total += qty
        net += money(item.get("netAmount", 0), f"usageItems[{i}].netAmount")
        by_model[str(item.get("model", "?"))] = {
            "requests": f"{qty:g}", "gross_usd": str(money(item.get("grossAmount", 0), "grossAmount")),
            "net_usd": str(money(item.get("netAmount", 0), "netAmount"))}
    out.add("premium_billed", Unit.REQUESTS, used=total, resets_at=next_utc_period(out.now, "monthly"),
            length_s=_MONTH)
    return {"net_usd": str(net), "models": by_model}


def billing_probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, BillingSettings) else None
    if settings is None:
        raise CredentialError("copilot_billing: set user = <GitHub username>")
    params = {"year": str(ctx.now.year), "month": str(ctx.now.month)}
    resp = yield HttpRequest("GET", ctx.url(BASE, f"/users/{settings.user}/settings/billing/premium_request/usage"),
                             params=params, headers={**bearer(ctx.secret, "copilot_billing"),
                                                     "Accept": "application/vnd.github+json",
                                                     "X-GitHub-Api-Version": "2022-11-28"})
    check_status(resp, "copilot_billing", ctx.now)
    out = SampleSet.of(ctx)
    details = parse_premium_usage(out, json_object(resp, "copilot_billing"))
    return out.reading(**details)


BILLING_SPEC = ProviderSpec(
    slug="copilot_billing", display_name="GitHub Copilot billing", default_base_url=BASE,
    credential_env=("GITHUB_TOKEN",), settings_model=BillingSettings, probe=billing_probe, kind="admin",
    probe_cost="1 free GET of the premium-request usage report",
    docs="Official monthly premium-request usage per model (fine-grained token with billing read).")

SPEC = ProviderSpec(
    slug="copilot", display_name="GitHub Copilot", default_base_url=BASE,
    credential_env=("COPILOT_GITHUB_TOKEN", "GH_COPILOT_TOKEN"), probe=probe, kind="subscription", auth="oauth",
    probe_cost="1 free GET /copilot_internal/user",
    docs="Monthly premium requests (or AI credits), chat and completions: entitlement, remaining, overage.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
    register(BILLING_SPEC)
