"""DeepSeek: ``GET /user/balance`` (Confirmed) -> ``is_available`` and ``balance_infos[]`` per currency, with
``total_balance = granted_balance + topped_up_balance`` as **decimal strings**. One ``balance_<currency>``
sample per currency; a ``reference`` per currency turns a balance into an estimated used ratio.
No rate-limit headers exist (DeepSeek throttles dynamically).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from quotawarden.domain import Outcome, Unit
from quotawarden.errors import MalformedResponse
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, add_balance, arr, bearer, check_status, json_object, money, obj
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "https://api.deepseek.com"
CURRENCIES = {"USD": Unit.USD, "CNY": Unit.CNY}


class DeepSeekSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: dict[str, float] = Field(default_factory=dict)
    """Per currency, the amount to measure the balance against, e.g. ``{USD = 20}``."""


def parse_balance(out: SampleSet, body: dict[str, Any], reference: dict[str, float]) -> dict[str, Any]:
    details: dict[str, Any] = {"is_available": bool(body.get("is_available"))}
    for i, raw in enumerate(arr(body.get("balance_infos"), "balance_infos")):
        info = obj(raw, f"balance_infos[{i}]")
        currency = str(info.get("currency", "")).upper()
        unit = CURRENCIES.get(currency)
        if unit is None:
            raise MalformedResponse(f"balance_infos[{i}]: unknown currency {currency[:8]!r}")
        total = money(info.get("total_balance"), f"balance_infos[{i}].total_balance")
        add_balance(out, f"balance_{currency.lower()}", unit, total, reference.get(currency))
        for part in ("granted_balance", "topped_up_balance"):
            if info.get(part) is not None:
                details[f"{currency.lower()}_{part}"] = str(money(info[part], f"balance_infos[{i}].{part}"))
    return details


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, DeepSeekSettings) else DeepSeekSettings()
    resp = yield HttpRequest("GET", ctx.url(BASE, "/user/balance"), headers=bearer(ctx.secret, "deepseek"))
    check_status(resp, "deepseek", ctx.now)
    out = SampleSet.of(ctx)
    details = parse_balance(out, json_object(resp, "deepseek"), settings.reference)
    if not details["is_available"]:
        return out.reading(Outcome.LIMITED, "deepseek: balance is not sufficient for API calls", **details)
    return out.reading(**details)


SPEC = ProviderSpec(
    slug="deepseek", display_name="DeepSeek", default_base_url=BASE, credential_env=("DEEPSEEK_API_KEY",),
    settings_model=DeepSeekSettings, probe=probe, kind="balance", probe_cost="1 free GET /user/balance",
    docs="Prepaid balance per currency (USD, CNY); is_available.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
