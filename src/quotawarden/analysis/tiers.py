"""Subscription-tier advice: which plan the recorded days of usage fit, the monthly saving, and how sure that is.

Usage is described per recorded day (:class:`Day`): the highest reading of each window that day (a 5 h peak, or
the running 7-day / monthly total), and the consumption of each long window (7 d, monthly), both as a share of the
*current* plan's limit, plus what the same calls cost at API prices. Only days that hold a reading count: history is
never padded, and a window's first reading counts as use: its level is that day's peak (what it shows was used
before it was first read).

Another plan of the family scales those by the catalog's capacity ratio (:func:`scale`). A plan *holds* over a run
of days (:func:`holds`, the replay) when every rescaled reading (5 h peaks, weekly and monthly totals, model-scoped
caps such as ``7d_opus``) and every rescaled sum of daily consumption over a window's length stays under
``headroom`` of the plan's limits: :data:`DOWNGRADE_HEADROOM` (0.8) when advising, which leaves room for a month
half again as busy as a typical one (``bench/plan_backtest.py`` replays held-out months to check it).

No advice comes from fewer than :data:`MIN_DAYS` days of readings; the answer says how many are missing. A
downgrade is advised only when the replay of the recorded days holds **and** the plan holds in at least
:data:`DOWNGRADE_CONFIDENCE` of bootstrap months (30 days drawn with replacement from the recorded ones); the
confidence is that share, and 0 when the replay broke.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

DOWNGRADE_CONFIDENCE = 0.95
DOWNGRADE_HEADROOM = 0.8
"""A cheaper plan holds when the rescaled usage stays under this share of its limits."""
MIN_DAYS = 7
"""Days with readings needed before any plan advice."""
MONTH_DAYS = 30
"""A bootstrap month draws this many days."""


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
    ambiguous: tuple[str, ...] = ()
    """Names that fit this plan and another of its family (Claude's ``max``): never resolved (:func:`ambiguous`)."""


def load_catalog(text: str | None = None) -> list[Plan]:
    """The built-in catalog (``analysis/data/plans.toml``), or one given as TOML text."""
    if text is None:
        text = resources.files("quotawarden.analysis.data").joinpath("plans.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    return [Plan(p["id"], p["family"], p["name"], float(p["price_usd_month"]), dict(p.get("capacity", {})),
                 tuple(p.get("aliases", ())), p.get("source", ""), p.get("as_of", ""), p.get("confidence", ""),
                 tuple(p.get("ambiguous", ())))
            for p in data["plan"]]


def find_plan(catalog: Sequence[Plan], name: str | None, family: str | None = None) -> Plan | None:
    if not name:
        return None
    key = name.lower()
    for p in catalog:
        if (key == p.id or key in p.aliases) and (family is None or p.family in (family, "*")):
            return p
    return None


def plan_for(catalog: Sequence[Plan], name: str | None, provider: str) -> Plan | None:
    """An account's catalog plan, looked up in its provider's family first: a ``codex`` account's ``pro`` is
    ChatGPT Pro and a ``copilot`` one's Copilot Pro, never Claude Pro. A provider with no family in the catalog
    (an API key's ``payg``) looks in every family, except for a free tier (``free``: a Gemini key's free tier is
    not Copilot Free)."""
    if any(p.family == provider for p in catalog):
        return find_plan(catalog, name, provider)
    return None if free_tier(name) else find_plan(catalog, name)


def free_tier(name: str | None) -> bool:
    """``plan = "free"`` (``analysis.planner.FREE_PLANS``)."""
    from quotawarden.analysis.planner import FREE_PLANS

    return (name or "").strip().lower() in FREE_PLANS


def ambiguous(catalog: Sequence[Plan], name: str | None, provider: str) -> list[Plan]:
    """The plans an ambiguous ``plan`` name could mean in ``provider``'s family (``max``: Claude Max 5x or Max
    20x); empty when the name is not ambiguous."""
    key = (name or "").strip().lower()
    family = provider if any(p.family == provider for p in catalog) else None
    fits = [p for p in catalog if key in p.ambiguous and (family is None or p.family == family)]
    return fits if key and len(fits) > 1 else []


def ambiguity(fits: Sequence[Plan], name: str) -> str:
    """``plan 'max' is ambiguous: write claude-max-5x (Claude Max 5x) or claude-max-20x (Claude Max 20x)``."""
    options = " or ".join(f"{p.id} ({p.name})" for p in fits)
    return f"plan {name!r} is ambiguous: write {options}"


@dataclass(frozen=True, slots=True)
class Day:
    peaks: Mapping[str, float] = field(default_factory=dict)
    """Every window's highest reading that day, as a share of the current plan's limit (for a long window, the
    running total of its period)."""
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
    days_of_data: int = 0
    """Days with at least one reading that the advice rests on."""
    days_missing: int = 0
    """Further days of readings needed before any advice (0 once there are :data:`MIN_DAYS`)."""


def _base(window: str) -> str:
    """A model-scoped window's base window: ``7d_opus`` -> ``7d``."""
    return window.split("_", 1)[0]


def scale(cur: Plan, alt: Plan, window: str) -> float | None:
    """How much of ``alt``'s limit one unit of ``cur``'s limit of ``window`` is (the catalog's capacity ratio).

    A model-scoped window (``7d_opus``) uses its own capacity when the catalog states it for both plans, otherwise
    its base window's; a plan whose catalog entry sets it to 0 does not offer it (infinite scale). None: the
    catalog cannot compare the two plans on this window."""
    key = window if window in cur.capacity and window in alt.capacity else _base(window)
    a, b = cur.capacity.get(key), alt.capacity.get(key)
    if not a:
        return None
    if b is not None and b <= 0:
        return float("inf")
    return None if not b else a / b


def holds(days: Sequence[Day], cur: Plan, alt: Plan, headroom: float = 0.9) -> bool:
    """Replay: would ``alt`` have held over this sequence of days (the recorded ones, or a resampled month)?"""
    for d in days:
        for w, peak in d.peaks.items():
            s = scale(cur, alt, w)
            if s is not None and peak > 0 and peak * s > headroom:
                return False
    windows = {w: n for d in days for w, n in d.window_days.items()}
    for w, n in windows.items():
        s = scale(cur, alt, w)
        if s is None:
            continue
        span = min(n, len(days))
        for i in range(0, len(days) - span + 1):
            used = sum(d.growth.get(w, 0.0) for d in days[i:i + span])
            if used > 0 and used * s > headroom:
                return False
    return True


def bootstrap(days: Sequence[Day], test: Any, draws: int, seed: int, size: int = MONTH_DAYS) -> float:
    """Share of ``draws`` resampled months (``size`` days drawn with replacement) that pass ``test``."""
    rng = random.Random(seed)
    n = len(days)
    return sum(bool(test([days[rng.randrange(n)] for _ in range(size)])) for _ in range(draws)) / draws


def missing_days(days: Sequence[Day]) -> int:
    return max(0, MIN_DAYS - len(days))


def advise(account_id: str, current: Plan | None, days: Sequence[Day], catalog: Sequence[Plan], *,
           draws: int = 1000, seed: int = 7, headroom: float = DOWNGRADE_HEADROOM, named: str | None = None,
           provider: str | None = None) -> Advice:
    """``named``: the account's ``plan`` as written, when it names no catalog plan (``current`` is None): the
    rationale says so and lists the plans ``provider``'s family has, instead of "no plan set"."""
    n = len(days)
    if current is None:
        why = "no plan set for this account (set `plan` in its [[accounts]] entry)"
        if named and free_tier(named):
            why = "a free tier: no plan to advise (it costs nothing; `next` spends it before paid keys)"
        elif named and (fits := ambiguous(catalog, named, provider or "")):
            why = f"{ambiguity(fits, named)}; no advice until it names one plan"
        elif named:
            known = [p.id for p in catalog if p.family == provider] or [p.id for p in catalog]
            why = f"plan {named!r} is not in the plan catalog (known: {', '.join(known)})"
        return Advice(account_id, None, "unknown", None, 0.0, None, why, days_of_data=n,
                      days_missing=missing_days(days))
    if n < MIN_DAYS:
        miss = missing_days(days)
        return Advice(account_id, current.id, "unknown", None, 0.0, None,
                      f"too little history: {n} day{'s' * (n != 1)} of readings, {miss} more needed "
                      f"(advice needs {MIN_DAYS})", days_of_data=n, days_missing=miss)
    family = [p for p in catalog if p.family == current.family and p.id != current.id]
    options: list[dict[str, Any]] = []
    for alt in sorted(family, key=lambda p: p.price_usd_month):
        broke = not holds(days, current, alt, headroom)
        conf = 0.0 if broke else bootstrap(days, lambda m, a=alt: holds(m, current, a, headroom), draws, seed)
        options.append({"plan": alt.id, "price_usd_month": alt.price_usd_month, "confidence": conf,
                        "broke_in_replay": broke, "saving": current.price_usd_month - alt.price_usd_month})
    api_month = sum(d.api_cost for d in days) * MONTH_DAYS / n
    if api_month <= 0:  # no priced usage linked to this account: the API alternative cannot be judged
        return _decide(account_id, current, days, options)
    api_conf = bootstrap(days, lambda m: sum(d.api_cost for d in m) < current.price_usd_month, draws, seed)
    options.append({"plan": "api", "price_usd_month": round(api_month, 2), "confidence": api_conf,
                    "broke_in_replay": False, "saving": round(current.price_usd_month - api_month, 2)})
    return _decide(account_id, current, days, options)


def _decide(account_id: str, current: Plan, days: Sequence[Day], options: list[dict[str, Any]]) -> Advice:
    n = len(days)

    def advice(action: str, plan: str | None, saving: float, conf: float | None, why: str) -> Advice:
        return Advice(account_id, current.id, action, plan, saving, conf, why, options, n, 0)

    cur_ok = holds(days, current, current, 0.999)  # reaching 100 % is running out
    plans = [o for o in options if o["plan"] != "api"]
    cheaper = [o for o in plans if o["saving"] > 0 and o["confidence"] >= DOWNGRADE_CONFIDENCE
               and not o["broke_in_replay"]]
    if not cur_ok:
        bigger = [o for o in plans if o["saving"] < 0 and not o["broke_in_replay"]]
        if bigger:
            o = max(bigger, key=lambda x: x["saving"])  # the cheapest larger plan that holds
            return advice("upgrade", o["plan"], o["saving"], o["confidence"],
                          f"{current.name} ran out in the last {n} days; {o['plan']} would have held "
                          f"in {o['confidence']:.0%} of resampled months")
        return advice("keep", None, 0.0, None, f"{current.name} ran out and no larger plan would have held")
    if cheaper:
        o = max(cheaper, key=lambda x: x["saving"])
        return advice("downgrade", o["plan"], o["saving"], o["confidence"],
                      f"replaying the {n} recorded days against {o['plan']}'s limits ({_windows(days)}) "
                      f"never crossed them, and it held in {o['confidence']:.0%} of resampled months; "
                      f"saves ${o['saving']:.2f}/month")
    api = next((o for o in options if o["plan"] == "api"), None)
    if api and api["saving"] > 0 and api["confidence"] >= DOWNGRADE_CONFIDENCE:
        return advice("switch_to_api", "api", api["saving"], api["confidence"],
                      f"the same usage at API prices is ~${api['price_usd_month']:.2f}/month, below "
                      f"${current.price_usd_month:.0f} in {api['confidence']:.0%} of resampled months")
    near = max((o for o in plans if o["saving"] > 0), key=lambda x: x["confidence"], default=None)
    why = ((f"{near['plan']} would have crossed its limits on a recorded day" if near["broke_in_replay"] else
            f"{near['plan']} would hold in only {near['confidence']:.0%} of resampled months")
           if near else "cheapest plan")
    return advice("keep", current.id, 0.0, None, f"{current.name} fits: {why}")


def _windows(days: Sequence[Day]) -> str:
    return ", ".join(sorted({w for d in days for w in (*d.peaks, *d.growth)})) or "no window"


DAY_S = 86400.0


def days_from_series(series: Mapping[str, Sequence[tuple[float, float | None]]], window_days: Mapping[str, int],
                     api_cost: Mapping[int, float], start: float, n: int = 30, reset_drop: float = 0.02
                     ) -> list[Day]:
    """:class:`Day` values from per-window (t, ratio) series, for the days ``0..n-1`` after ``start`` that hold a
    reading (days without one are left out, never filled with zero use): each window's daily peak; for long
    windows also the daily consumption (net change; after a reset the new level is fresh use). A window's first
    reading is use too: its level is in that day's peak, which the replay checks, though not in any one day's
    consumption (when it was used is unknown). ``api_cost`` is keyed by day index."""
    peaks: list[dict[str, float]] = [{} for _ in range(n)]
    growth: list[dict[str, float]] = [{} for _ in range(n)]
    seen = [False] * n
    for w, pts in series.items():
        prev: float | None = None
        for t, r in sorted((p for p in pts if p[1] is not None), key=lambda p: p[0]):
            i = int((t - start) // DAY_S)
            if r is None:
                continue
            if not 0 <= i < n:
                prev = r
                continue
            seen[i] = True
            if w in window_days:
                # net change (noise cancels out); a drop beyond noise is a reset and the new level is fresh use
                inc = 0.0 if prev is None else r if r < prev - reset_drop else r - prev
                growth[i][w] = growth[i].get(w, 0.0) + inc
            peaks[i][w] = max(peaks[i].get(w, 0.0), r)
            prev = r
    return [Day(peaks[i], growth[i], dict(window_days), api_cost.get(i, 0.0)) for i in range(n) if seen[i]]
