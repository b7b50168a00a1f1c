"""Subscription-tier advice: which plan the last 30 days of usage fit, the monthly saving, and how sure that is.

Usage is described per day (:class:`Day`): the peak of each short window (5 h) and the consumption of each long
window (7 d, monthly), both as a share of the *current* plan's limit, plus what the same calls cost at API prices.
Another plan of the family scales those by the capacity ratio. A plan *holds* for a month when every day's short
peaks, every 7-day block and the month's total stay under ``headroom`` (0.9) of its limits.

Confidence is the share of bootstrap months (30 days drawn with replacement from the last 30) in which the plan
holds. A downgrade is advised only at ``>= 0.95`` confidence **and** when none of the actual last 30 days (and no
actual 7-day or 30-day span) would have broken it.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

DOWNGRADE_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    family: str
    name: str
    price_usd_month: float
    capacity: Mapping[str, float]
    aliases: tuple[str, ...] = ()
    source: str = ""
    as_of: str = ""
    confidence: str = ""


def load_catalog(text: str | None = None) -> list[Plan]:
    """The built-in catalog (``analysis/data/plans.toml``), or one given as TOML text."""
    if text is None:
        text = resources.files("quotawarden.analysis.data").joinpath("plans.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    return [Plan(p["id"], p["family"], p["name"], float(p["price_usd_month"]), dict(p.get("capacity", {})),
                 tuple(p.get("aliases", ())), p.get("source", ""), p.get("as_of", ""), p.get("confidence", ""))
            for p in data["plan"]]


def find_plan(catalog: Sequence[Plan], name: str | None, family: str | None = None) -> Plan | None:
    if not name:
        return None
    key = name.lower()
    for p in catalog:
        if (key == p.id or key in p.aliases) and (family is None or p.family == family):
            return p
    return None


@dataclass(frozen=True, slots=True)
class Day:
    peaks: Mapping[str, float] = field(default_factory=dict)
    """Short windows (<= 1 day): highest utilisation seen that day, as a share of the current plan's limit."""
    growth: Mapping[str, float] = field(default_factory=dict)
    """Long windows: consumption that day, as a share of the current plan's limit for that window."""
    window_days: Mapping[str, int] = field(default_factory=dict)
    """Length in days of each long window (7 for 7d, 30 for monthly)."""
    api_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class Advice:
    account_id: str
    current: str | None
    action: str
    """``downgrade``, ``upgrade``, ``switch_to_api``, ``keep`` or ``unknown``."""
    plan: str | None
    monthly_saving: float
    confidence: float | None
    rationale: str
    options: list[dict[str, Any]] = field(default_factory=list)


def _scale(cur: Plan, alt: Plan, window: str) -> float | None:
    a, b = cur.capacity.get(window), alt.capacity.get(window)
    return None if not a or not b else a / b


def holds(days: Sequence[Day], cur: Plan, alt: Plan, headroom: float = 0.9) -> bool:
    """Would ``alt`` have held over this sequence of days (a month, real or resampled)?"""
    for d in days:
        for w, peak in d.peaks.items():
            s = _scale(cur, alt, w)
            if s is not None and peak * s > headroom:
                return False
    windows = {w: n for d in days for w, n in d.window_days.items()}
    for w, n in windows.items():
        s = _scale(cur, alt, w)
        if s is None:
            continue
        span = min(n, len(days))
        for i in range(0, len(days) - span + 1):
            if sum(d.growth.get(w, 0.0) for d in days[i:i + span]) * s > headroom:
                return False
    return True


def bootstrap(days: Sequence[Day], test: Any, draws: int, seed: int) -> float:
    rng = random.Random(seed)
    n = len(days)
    return sum(bool(test([days[rng.randrange(n)] for _ in range(n)])) for _ in range(draws)) / draws


def advise(account_id: str, current: Plan | None, days: Sequence[Day], catalog: Sequence[Plan], *,
           draws: int = 1000, seed: int = 7, headroom: float = 0.9) -> Advice:
    if current is None:
        return Advice(account_id, None, "unknown", None, 0.0, None,
                      "no plan set for this account (set `plan` in its [[accounts]] entry)")
    if len(days) < 7:
        return Advice(account_id, current.id, "unknown", None, 0.0, None, f"only {len(days)} days of data")
    family = [p for p in catalog if p.family == current.family and p.id != current.id]
    options: list[dict[str, Any]] = []
    for alt in sorted(family, key=lambda p: p.price_usd_month):
        broke = not holds(days, current, alt, headroom)
        conf = bootstrap(days, lambda m, a=alt: holds(m, current, a, headroom), draws, seed)
        options.append({"plan": alt.id, "price_usd_month": alt.price_usd_month, "confidence": conf,
                        "broke_in_last_30_days": broke, "saving": current.price_usd_month - alt.price_usd_month})
    api_month = sum(d.api_cost for d in days) * 30 / len(days)
    if api_month <= 0:  # no priced usage linked to this account: the API alternative cannot be judged
        return _decide(account_id, current, days, options)
    api_conf = bootstrap(days, lambda m: sum(d.api_cost for d in m) * 30 / len(m) < current.price_usd_month,
                         draws, seed)
    options.append({"plan": "api", "price_usd_month": round(api_month, 2), "confidence": api_conf,
                    "broke_in_last_30_days": False, "saving": round(current.price_usd_month - api_month, 2)})
    return _decide(account_id, current, days, options)


def _decide(account_id: str, current: Plan, days: Sequence[Day], options: list[dict[str, Any]]) -> Advice:
    cur_ok = holds(days, current, current, 0.999)  # reaching 100 % is running out
    plans = [o for o in options if o["plan"] != "api"]
    cheaper = [o for o in plans if o["saving"] > 0 and o["confidence"] >= DOWNGRADE_CONFIDENCE
               and not o["broke_in_last_30_days"]]
    if not cur_ok:
        bigger = [o for o in plans if o["saving"] < 0 and not o["broke_in_last_30_days"]]
        if bigger:
            o = bigger[0]
            return Advice(account_id, current.id, "upgrade", o["plan"], o["saving"], o["confidence"],
                          f"{current.name} ran out in the last {len(days)} days; {o['plan']} would have held "
                          f"in {o['confidence']:.0%} of resampled months", options)
        return Advice(account_id, current.id, "keep", None, 0.0, None,
                      f"{current.name} ran out and no larger plan would have held", options)
    if cheaper:
        o = max(cheaper, key=lambda x: x["saving"])
        return Advice(account_id, current.id, "downgrade", o["plan"], o["saving"], o["confidence"],
                      f"{o['plan']} would have held on every one of the last {len(days)} days and in "
                      f"{o['confidence']:.0%} of resampled months; saves ${o['saving']:.2f}/month", options)
    api = next((o for o in options if o["plan"] == "api"), None)
    if api and api["saving"] > 0 and api["confidence"] >= DOWNGRADE_CONFIDENCE:
        return Advice(account_id, current.id, "switch_to_api", "api", api["saving"], api["confidence"],
                      f"the same usage at API prices is ~${api['price_usd_month']:.2f}/month, below "
                      f"${current.price_usd_month:.0f} in {api['confidence']:.0%} of resampled months", options)
    near = max((o for o in plans if o["saving"] > 0), key=lambda x: x["confidence"], default=None)
    why = (f"{near['plan']} would hold in only {near['confidence']:.0%} of resampled months"
           + (" and broke on an actual day" if near["broke_in_last_30_days"] else "")) if near else "cheapest plan"
    return Advice(account_id, current.id, "keep", current.id, 0.0, None, f"{current.name} fits: {why}", options)


def days_from_series(series: Mapping[str, Sequence[tuple[float, float | None]]], window_days: Mapping[str, int],
                     api_cost: Mapping[int, float], start: float, n: int = 30) -> list[Day]:
    """Build :class:`Day` values from per-window (t, ratio) series: daily peaks of short windows, daily
    consumption of long ones (net change per day; after a reset, the new level counts as fresh use)."""
    peaks: list[dict[str, float]] = [{} for _ in range(n)]
    growth: list[dict[str, float]] = [{} for _ in range(n)]
    for w, pts in series.items():
        prev: float | None = None
        for t, r in sorted((p for p in pts if p[1] is not None), key=lambda p: p[0]):
            i = int((t - start) // 86400)
            if not 0 <= i < n or r is None:
                prev = r
                continue
            if w in window_days:
                # net change (noise cancels out); a drop beyond noise is a reset and the new level is fresh use
                inc = 0.0 if prev is None else (r if r < prev - 0.02 else r - prev)
                growth[i][w] = growth[i].get(w, 0.0) + inc
            else:
                peaks[i][w] = max(peaks[i].get(w, 0.0), r)
            prev = r
    return [Day(peaks[i], growth[i], dict(window_days), api_cost.get(i, 0.0)) for i in range(n)]
