"""OpenCode Zen: the pay-as-you-go gateway of OpenCode (``https://opencode.ai/zen/v1``, key ``OPENCODE_API_KEY``).

Zen publishes no usage API. What the public monitors call (Guessed, read tolerantly): ``GET
https://api.opencode.ai/v1/credits`` with the key as a bearer token, answering ``{"data": {"total_credits",
"used_credits", "remaining_credits"}}`` (AIUsageTracker's ``OpenCodeProvider.cs``, a Rust ``OpenCodeZenProvider``
and a TypeScript ``OpenCodeProvider``, all reading the same three fields). Those monitors also report that the
endpoint answers some keys with ``200 text/html "Not Found"`` or a 404: such a key is then checked on
``GET /zen/v1/models`` and reads OK without a balance (``balance = "not reported"``), never as an error.

* ``credits`` window (unit credits): used, remaining and total as stated; ``remaining <= 0`` is LIMITED (Zen stops
  serving until a top-up; a balance has no reset).
* 401/403 invalid key, 429 limited, a JSON answer without ``data`` or with non-numbers is malformed (ERROR).

``base_url`` redirects both hosts (credits and the Zen API), so the emulator covers the whole probe.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from quotawarden.domain import Outcome, Unit
from quotawarden.errors import MalformedResponse
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, bearer, check_status, json_object, num, obj
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

CREDITS_BASE = "https://api.opencode.ai"
ZEN_BASE = "https://opencode.ai"


class ZenSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low_credits: float | None = Field(default=None, ge=0)
    """Say so in the reason when fewer credits than this remain (the window's ratio already drives health)."""


def _not_reported(resp: HttpResponse) -> bool:
    """The credits endpoint does not serve this key: a 404, or a 200 whose body is not JSON ("Not Found")."""
    if resp.status == 404:
        return True
    ctype = str(resp.headers.get("content-type", ""))
    return resp.status == 200 and ("json" not in ctype.lower() and not resp.body.lstrip().startswith(b"{"))


def parse_credits(out: SampleSet, body: dict[str, Any]) -> tuple[float, float | None, float | None]:
    """(remaining, used, total) of a credits answer, added to ``out`` as the ``credits`` window."""
    data = obj(body.get("data"), "data")
    total = num(data["total_credits"], "data.total_credits") if data.get("total_credits") is not None else None
    used = num(data["used_credits"], "data.used_credits") if data.get("used_credits") is not None else None
    if data.get("remaining_credits") is not None:
        remaining = num(data["remaining_credits"], "data.remaining_credits")
    elif total is not None and used is not None:
        remaining = total - used
    else:
        raise MalformedResponse("opencode_zen: data has neither remaining_credits nor total and used credits")
    out.add("credits", Unit.CREDITS, used=used, remaining=max(remaining, 0.0), limit=total or None)
    return remaining, used, total


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, ZenSettings) else ZenSettings()
    headers = {**bearer(ctx.secret, "opencode_zen"), "Accept": "application/json"}
    resp = yield HttpRequest("GET", ctx.url(CREDITS_BASE, "/v1/credits"), headers=headers)
    out = SampleSet.of(ctx)
    if _not_reported(resp):
        check = yield HttpRequest("GET", ctx.url(ZEN_BASE, "/zen/v1/models"), headers=headers)
        check_status(check, "opencode_zen /zen/v1/models", ctx.now)
        data = json_object(check, "opencode_zen /zen/v1/models").get("data")
        models = sorted(str(m.get("id")) for m in data if isinstance(m, dict)) if isinstance(data, list) else []
        return out.reading(reason="key valid; Zen reports no balance for this key", balance="not reported",
                           models=models)
    check_status(resp, "opencode_zen", ctx.now)
    remaining, used, total = parse_credits(out, json_object(resp, "opencode_zen"))
    details: dict[str, Any] = {"remaining_credits": remaining, "used_credits": used, "total_credits": total}
    if remaining <= 0:
        return out.reading(Outcome.LIMITED, f"opencode_zen: no credits left ({remaining:g}); top up to go on "
                                            "(a balance does not reset)", **details)
    low = settings.low_credits is not None and remaining < settings.low_credits
    return out.reading(reason=f"{remaining:g} credits left (under {settings.low_credits:g})" if low else "",
                       **details)


SPEC = ProviderSpec(
    slug="opencode_zen", display_name="OpenCode Zen", default_base_url=ZEN_BASE + "/zen",
    credential_env=("OPENCODE_API_KEY", "OPENCODE_ZEN_API_KEY"), settings_model=ZenSettings, probe=probe,
    kind="balance", probe_cost="1 free GET /v1/credits (a second, /zen/v1/models, when no balance is served)",
    docs="Credits used, remaining and total as Zen's credits endpoint states them (format guessed).")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
