"""Token prices from genai-prices (bundled, offline, dated), with per-model overrides from the config.

A model's rates are resolved once per (provider, model, UTC day) and then applied with plain arithmetic, so
pricing a million events costs a dictionary lookup each. Tier rule (genai-prices and Anthropic): when the
request's whole input (uncached + cache read + cache write) is above a tier's start, *every* token of that
unit is charged at the tier price. A 1-hour cache write without its own price costs 2x input (Anthropic's
rule); a model with no known price has cost ``None`` (reported as unknown, never 0).

Loading genai-prices' data takes a few hundred milliseconds, more than an incremental ingestion of new lines, so
resolved rates are kept on disk (the user cache folder, one file per genai-prices version) with the span of
time they hold for (a model's dated price changes bound it); a later run with new lines of known models never
loads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
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


Span = tuple[float, float, Rates | None]
"""(from ts, until ts, rates): what genai-prices says for a model over a span of time."""
_INF = float("inf")


class Pricer:
    """Resolves rates (genai-prices + overrides) and prices events. Not thread-safe; cheap to build."""

    def __init__(self, overrides: Mapping[str, Any] | None = None, cache_dir: Path | bool | None = True) -> None:
        self._overrides = {k.lower(): v for k, v in (overrides or {}).items()}
        self._cache: dict[tuple[str, str, int], Rates | None] = {}
        self._cache_dir = cache_dir
        self._spans: dict[str, list[Span]] | None = None

    def rates(self, provider: str, model: str, ts: float) -> Rates | None:
        key = (provider, model, int(ts // 86400))
        try:
            return self._cache[key]
        except KeyError:
            found = self._cache[key] = self._resolve(provider, model, ts)
            return found

    def prepare(self) -> None:
        """Load the cached spans, so that processes forked afterwards share them instead of each reading them.
        (genai-prices' own data, needed only when they are missing, is left to whoever resolves a new model: held
        in the main process it would add ~20 MB to a first import's peak memory.)"""
        self._load_spans()

    def _resolve(self, provider: str, model: str, ts: float) -> Rates | None:
        o = self._overrides.get(model.lower())
        if o is not None:
            def g(name: str) -> Any:
                return o.get(name) if isinstance(o, Mapping) else getattr(o, name, None)
            return Rates(model, Rate(float(g("input"))), Rate(float(g("output"))), _rate(g("cache_write")),
                         _rate(g("cache_write_1h")), _rate(g("cache_read")))
        spans = self._load_spans().setdefault(f"{provider}|{model}", [])
        for lo, hi, rates in spans:
            if lo <= ts < hi:
                return rates
        span = _from_genai_prices(provider, model, ts)
        spans.append(span)
        self._save_spans()
        return span[2]

    def _file(self) -> Path | None:
        if self._cache_dir is False or self._cache_dir is None:
            return None
        import importlib.metadata

        folder = self._cache_dir if isinstance(self._cache_dir, Path) else _user_cache()
        return folder / f"prices-genai-{importlib.metadata.version('genai-prices')}.json"

    def _load_spans(self) -> dict[str, list[Span]]:
        if self._spans is None:
            self._spans = {}
            path = self._file()
            try:
                raw = json.loads(path.read_text()) if path is not None else {}
                self._spans = {k: [(-_INF if lo is None else lo, _INF if hi is None else hi, _rates_in(r))
                                   for lo, hi, r in v] for k, v in raw.items()}
            except (OSError, ValueError, TypeError):
                pass  # no cache yet, or an unreadable one: resolve again
        return self._spans

    def _save_spans(self) -> None:
        path = self._file()
        if path is None or self._spans is None:
            return
        data = {k: [(None if lo == -_INF else lo, None if hi == _INF else hi, _rates_out(r)) for lo, hi, r in v]
                for k, v in self._spans.items()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache folder only costs speed

    def cost(self, provider: str, model: str, ts: float, inp: int, out: int, cw: int, cw1h: int,
             cr: int) -> Decimal | None:
        r = self.rates(provider, model, ts)
        if r is None:
            return None
        return Decimal(f"{r.cost(inp, out, cw, cw1h, cr):.8f}")

    def price_event(self, e: UsageEvent) -> Decimal | None:
        return self.cost(e.provider, e.model, e.ts.timestamp(), e.input_tokens, e.output_tokens,
                         e.cache_write_tokens, e.cache_write_1h_tokens, e.cache_read_tokens)


def _user_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("quotawarden"))


def _from_genai_prices(provider: str, model: str, ts: float) -> Span:
    from genai_prices import data_snapshot

    snap = data_snapshot.get_snapshot()
    ref = model.split("/", 1)[1] if "/" in model else model
    try:
        _prov, info = snap.find_provider_model(ref, None, _PROVIDER_IDS.get(provider, provider), None)
    except LookupError:
        try:
            _prov, info = snap.find_provider_model(ref, None, None, None)
        except LookupError:
            return -_INF, _INF, None
    lo, hi = _span_of(info.prices, ts)
    p = info.get_prices(datetime.fromtimestamp(ts, UTC))
    inp, out = _rate(p.input_mtok), _rate(p.output_mtok)
    if inp is None or out is None:
        return lo, hi, None
    search = getattr(p, "web_searches_kcount", None)
    return lo, hi, Rates(info.id, inp, out, _rate(p.cache_write_mtok), _rate(p.cache_write_1h_mtok),
                         _rate(p.cache_read_mtok), float(search) if isinstance(search, Decimal) else 0.0)


def _span_of(prices: Any, ts: float) -> tuple[float, float]:
    """The time around ``ts`` in which a model's price list gives the same price: unbounded for one price,
    between start dates for dated prices, the UTC day for anything else (a time-of-day price)."""
    if not isinstance(prices, list):
        return -_INF, _INF
    starts = []
    for cond in prices:
        c = getattr(cond, "constraint", None)
        if c is None:
            continue
        start = getattr(c, "start_date", None)
        if start is None or type(c).__name__ != "StartDateConstraint":
            day = ts - ts % 86400
            return day, day + 86400
        start_ts = start.timestamp() if isinstance(start, datetime) else datetime(
            start.year, start.month, start.day, tzinfo=UTC).timestamp()
        starts.append(start_ts)
    lo = max((t for t in starts if t <= ts), default=-_INF)
    hi = min((t for t in starts if t > ts), default=_INF)
    return lo, hi


def _rate_out(r: Rate | None) -> Any:
    return None if r is None else [r.base, [list(t) for t in r.tiers]]


def _rate_in(v: Any) -> Rate | None:
    return None if v is None else Rate(float(v[0]), tuple((int(a), float(b)) for a, b in v[1]))


def _rates_out(r: Rates | None) -> Any:
    if r is None:
        return None
    return [r.model_id, *(_rate_out(x) for x in (r.input, r.output, r.cache_write, r.cache_write_1h, r.cache_read)),
            r.web_search_per_k]


def _rates_in(v: Any) -> Rates | None:
    if v is None:
        return None
    inp, out = _rate_in(v[1]), _rate_in(v[2])
    assert inp is not None and out is not None
    return Rates(str(v[0]), inp, out, _rate_in(v[3]), _rate_in(v[4]), _rate_in(v[5]), float(v[6]))
