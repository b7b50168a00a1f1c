"""Cline account credits (``api.cline.bot``), as Cline's own extension reads them (Confirmed against its source:
cline/cline ``src/services/account/ClineAccountService.ts``, ``src/shared/ClineAccount.ts``,
``src/shared/cline/api.ts``, ``webview-ui/src/utils/format.ts``).

``GET /api/v1/users/me`` -> ``{"success": true, "data": {"id", "email", "organizations": [{"organizationId",
"active", ...}]}}``, then ``GET /api/v1/users/{id}/balance`` -> ``{"success": true, "data": {"balance",
"userId"}}``; with an active organization also ``GET /api/v1/organizations/{id}/balance`` (``{"balance",
"organizationId"}``). Every answer is wrapped in ``{success, data, error}``; ``success: false`` is the API's own
error. The balance is in micro-credits: Cline shows ``balance / 10000`` credits (``formatCreditsBalance``).

* ``credits`` (and ``org_credits``) windows, unit credits, remaining only (a prepaid balance has no limit or reset).
  Nothing left is LIMITED.
* The credential is the bearer token the extension sends (its account auth token, ``workos:``-prefixed in current
  builds); VS Code keeps it in its secret storage, so ``accounts discover`` cannot find it: give it as
  ``env:``/``file:``/``vault:``. Guessed: how long such a token lives (the extension refreshes it itself).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from quotawarden.domain import Outcome, Unit
from quotawarden.errors import MalformedResponse
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, arr, bearer, check_status, json_object, num, obj
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.cline.bot"
MICRO = 10000.0
"""``formatCreditsBalance(microcredits) = microcredits / 10000`` in Cline's webview."""


def unwrap(resp: HttpResponse, what: str) -> dict[str, Any]:
    """The ``data`` of a ``{success, data, error}`` answer; ``success: false`` is the API's own error."""
    body = json_object(resp, what)
    if body.get("success") is False:
        raise MalformedResponse(f"{what}: API error {str(body.get('error') or 'unknown')[:120]}")
    return obj(body.get("data"), f"{what}: data")


def credits_of(data: dict[str, Any], what: str) -> float:
    return num(data.get("balance"), f"{what}: data.balance") / MICRO


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    headers = {**bearer(ctx.secret, "cline_account"), "Content-Type": "application/json"}
    resp = yield HttpRequest("GET", ctx.url(BASE, "/api/v1/users/me"), headers=headers)
    check_status(resp, "cline_account /users/me", ctx.now)
    me = unwrap(resp, "cline_account /users/me")
    user = str(me.get("id") or "")
    if not user:
        raise MalformedResponse("cline_account /users/me: data.id is missing")
    resp = yield HttpRequest("GET", ctx.url(BASE, f"/api/v1/users/{user}/balance"), headers=headers)
    check_status(resp, "cline_account balance", ctx.now)
    out = SampleSet.of(ctx)
    personal = credits_of(unwrap(resp, "cline_account balance"), "cline_account balance")
    out.add("credits", Unit.CREDITS, remaining=personal, signed=True)
    details: dict[str, Any] = {"credits": round(personal, 4)}
    orgs = [o for o in arr(me.get("organizations") or [], "data.organizations") if isinstance(o, dict)]
    active = next((o for o in orgs if o.get("active") and o.get("organizationId")), None)
    left = personal
    if active is not None:
        org = str(active["organizationId"])
        resp = yield HttpRequest("GET", ctx.url(BASE, f"/api/v1/organizations/{org}/balance"), headers=headers)
        check_status(resp, "cline_account organization balance", ctx.now)
        org_credits = credits_of(unwrap(resp, "cline_account organization balance"),
                                 "cline_account organization balance")
        out.add("org_credits", Unit.CREDITS, remaining=org_credits, signed=True)
        details.update(organization=str(active.get("name") or org), org_credits=round(org_credits, 4))
        left = org_credits  # requests spend the active organization's credits
    if left <= 0:
        return out.reading(Outcome.LIMITED, f"cline_account: no credits left ({left:g}); buy credits to go on",
                           **details)
    return out.reading(**details)


SPEC = ProviderSpec(
    slug="cline_account", display_name="Cline account credits", default_base_url=BASE,
    credential_env=("CLINE_ACCOUNT_TOKEN",), probe=probe, kind="balance",
    probe_cost="2 free GETs (/users/me, the balance; a third for an active organization)",
    docs="Credits left on the Cline account (and its active organization), as the extension reads them.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
