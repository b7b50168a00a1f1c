"""Token prices from genai-prices (bundled, offline, dated), with per-model overrides from the config.

A model's rates are resolved once per (provider, model, UTC day) and then applied with plain arithmetic, so
pricing a million events costs a dictionary lookup each. Tier rule (genai-prices and Anthropic): when the
request's whole input (uncached + cache read + cache write) is above a tier's start, *every* token of that
unit is charged at the tier price. A 1-hour cache write without its own price costs 2x input (Anthropic's
rule); a model with no known price has cost ``None`` (reported as unknown, never 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from quotawarden.domain import UsageEvent

_PROVIDER_IDS = {"anthropic": "anthropic", "openai": "openai", "google": "google", "opencode": None}


@dataclass(frozen=True, slots=True)
class Rate:
    base: float
    """USD per million tokens."""
    tiers: tuple[tuple[int, float], ...] = ()

    def at(self, total_input: int) -> float:
        price = self.base
        for start, tier_price in self.tiers:
            if total_input > start:
                price = tier_price
        return price


@dataclass(frozen=True, slots=True)
class Rates:
    model_id: str
    input: Rate
    output: Rate
    cache_write: Rate | None = None
    cache_write_1h: Rate | None = None
    cache_read: Rate | None = None
    web_search_per_k: float = 0.0

    def cost(self, inp: int, out: int, cw: int, cw1h: int, cr: int) -> float:
        total_in = inp + cw + cr
        cw5 = cw - cw1h
        c = inp * self.input.at(total_in) + out * self.output.at(total_in)
        if cw5:
            c += cw5 * (self.cache_write or self.input).at(total_in)
        if cw1h:
            one_hour = self.cache_write_1h.at(total_in) if self.cache_write_1h else 2 * self.input.at(total_in)
            c += cw1h * one_hour
        if cr:
            c += cr * (self.cache_read.at(total_in) if self.cache_read else 0.1 * self.input.at(total_in))
        return c / 1_000_000


def _rate(value: Any) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return Rate(float(value))
    base = getattr(value, "base", None)
    tiers = getattr(value, "tiers", None)
    if base is None:
        return None
    return Rate(float(base), tuple((int(t.start), float(t.price)) for t in tiers or ()))


class Pricer:
    """Resolves rates (genai-prices + overrides) and prices events. Not thread-safe; cheap to build."""

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        self._overrides = {k.lower(): v for k, v in (overrides or {}).items()}
        self._cache: dict[tuple[str, str, int], Rates | None] = {}

    def rates(self, provider: str, model: str, ts: float) -> Rates | None:
        key = (provider, model, int(ts // 86400))
        try:
            return self._cache[key]
        except KeyError:
            found = self._cache[key] = self._resolve(provider, model, ts)
            return found

    def _resolve(self, provider: str, model: str, ts: float) -> Rates | None:
        o = self._overrides.get(model.lower())
        if o is not None:
            def g(name: str) -> Any:
                return o.get(name) if isinstance(o, Mapping) else getattr(o, name, None)
            return Rates(model, Rate(float(g("input"))), Rate(float(g("output"))), _rate(g("cache_write")),
                         _rate(g("cache_write_1h")), _rate(g("cache_read")))
        from genai_prices import data_snapshot

        snap = data_snapshot.get_snapshot()
        ref = model.split("/", 1)[1] if "/" in model else model
        try:
            _prov, info = snap.find_provider_model(ref, None, _PROVIDER_IDS.get(provider, provider), None)
        except LookupError:
            try:
                _prov, info = snap.find_provider_model(ref, None, None, None)
            except LookupError:
                return None
        p = info.get_prices(datetime.fromtimestamp(ts, UTC))
        inp, out = _rate(p.input_mtok), _rate(p.output_mtok)
        if inp is None or out is None:
            return None
        search = getattr(p, "web_searches_kcount", None)
        return Rates(info.id, inp, out, _rate(p.cache_write_mtok), _rate(p.cache_write_1h_mtok),
                     _rate(p.cache_read_mtok), float(search) if isinstance(search, Decimal) else 0.0)

    def cost(self, provider: str, model: str, ts: float, inp: int, out: int, cw: int, cw1h: int,
             cr: int) -> Decimal | None:
        r = self.rates(provider, model, ts)
        if r is None:
            return None
        return Decimal(f"{r.cost(inp, out, cw, cw1h, cr):.8f}")

    def price_event(self, e: UsageEvent) -> Decimal | None:
        return self.cost(e.provider, e.model, e.ts.timestamp(), e.input_tokens, e.output_tokens,
                         e.cache_write_tokens, e.cache_write_1h_tokens, e.cache_read_tokens)
