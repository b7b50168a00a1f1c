"""Held-out-month backtest of plan advice (``analysis.tiers``) on emulated Claude seats of mixed plans and habits.

    python bench/plan_backtest.py [--seats 48] [--months 4] [--seed 3] [--draws 300]

Each seat has a plan (Pro, Max 5x, Max 20x) and a usage habit (steady, office hours, bursty, growing, one heavy
month). Its demand (in Pro 5-hour allowances per hour; a Pro week holds ``PRO_WEEK`` of them, other plans scale by
the catalog's capacities) is turned into half-hourly 5 h and 7 d readings under its plan, exactly as a poller would
record them (``analysis.simulate``, windows stop at 100 %). For every month N but the last: advise from month N's
readings (``tiers.days_from_series`` + ``tiers.advise``), then replay month N+1's demand against the advised plan's
windows:

* **failed**: an advised downgrade whose plan would have run out (a window at 100 %) in month N+1. Target: 0.
* **missed**: no downgrade advised, yet a cheaper plan stayed under 90 % of its limits through months N and N+1
  (a saving that was there to take).

The heavy month is half again as busy as usual by default (``--heavy``); a month far busier than anything
recorded (``--heavy 4``) can break a downgrade advised before it, as no history can show it coming.

Prints a table per habit (medians and ratios only; no timings) and exits 1 when any advised downgrade failed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from quotawarden.analysis import simulate as sim
from quotawarden.analysis import tiers

PRO_WEEK = 10.0
"""A Pro week holds this many Pro 5-hour allowances (the catalog gives ratios between plans, not this one)."""
WINDOWS = {"5h": 5 * 3600, "7d": 7 * 86400}
PLANS = ("claude-pro", "claude-max-5x", "claude-max-20x")
HABITS = ("steady", "office", "bursty", "growing", "heavy_month")
MONTH = 30
GROWTH = 0.25
"""The growing habit's demand rises by this share every month."""
HEAVY = 1.5
"""The heavy month's demand against the seat's usual (a release crunch)."""


def demand(habit: str, level: float, seed: int, heavy: int, factor: float = HEAVY) -> sim.Process:
    """Pro 5-hour allowances per hour at time t."""
    start = sim.at(0).timestamp()
    if habit == "steady":
        return sim.steady(level)
    if habit == "office":
        return sim.weekly_rhythm(level * 2.5)
    if habit == "bursty":
        return sim.bursty(level * 0.5, level * 6, seed, mean_gap_h=30, mean_len_h=3)
    base = sim.weekly_rhythm(level * 2.5)
    if habit == "growing":
        return lambda t: base(t) * (1 + GROWTH * (t - start) / (MONTH * 86400))
    return lambda t: base(t) * (factor if int((t - start) // (MONTH * 86400)) == heavy else 1.0)


def caps(plan: tiers.Plan) -> dict[str, float]:
    return {"5h": plan.capacity["5h"] * 1.0, "7d": plan.capacity["7d"] * PRO_WEEK}


def share(d: sim.Process, cap: float) -> sim.Process:
    """Demand as a share of a window's limit per hour."""
    return lambda t: d(t) / cap


def readings(name: str, d: sim.Process, plan: tiers.Plan, days: int) -> dict[str, list[tuple[float, float | None]]]:
    """Half-hourly readings of both windows under ``plan``, from day 0 to ``days``."""
    out: dict[str, list[tuple[float, float | None]]] = {}
    for i, (window, length) in enumerate(WINDOWS.items()):
        samples, _ = sim.simulate(name, window, length, share(d, caps(plan)[window]), sim.at(0), sim.at(days),
                                  step_s=1800, seed=i)
        out[window] = [(s.observed_at.timestamp(), s.used_ratio) for s in samples]
    return out


def peak_in(series: dict[str, list[tuple[float, float | None]]], first: int, last: int) -> float:
    """The highest reading of any window in days ``first``..``last`` (exclusive)."""
    lo, hi = sim.at(first).timestamp(), sim.at(last).timestamp()
    return max((r or 0.0) for pts in series.values() for t, r in pts if lo <= t < hi)


@dataclass(frozen=True)
class Row:
    seat: str
    habit: str
    plan: str
    month: int
    action: str
    advised: str | None
    saving: float
    confidence: float | None
    failed: bool | None
    missed: bool
    safe_saving: float


def run(seats: int, months: int, seed: int, draws: int, headroom: float = tiers.DOWNGRADE_HEADROOM,
        heavy: float = HEAVY) -> list[Row]:
    catalog = tiers.load_catalog()
    plans = {p: tiers.find_plan(catalog, p) for p in PLANS}
    rng = random.Random(seed)
    rows: list[Row] = []
    days = months * MONTH
    for i in range(seats):
        habit = HABITS[i % len(HABITS)]
        current = plans[PLANS[rng.randrange(len(PLANS))]]
        assert current is not None
        level = caps(current)["7d"] / 168 * rng.uniform(0.08, 0.9)  # from barely used to near the weekly limit
        d = demand(habit, level, seed * 1000 + i, rng.randrange(1, months), heavy)
        under = {p: readings(f"s{i}", d, plan, days) for p, plan in plans.items() if plan is not None}
        for n in range(months - 1):
            start = sim.at(n * MONTH).timestamp()
            recorded = tiers.days_from_series(under[current.id], {"7d": 7}, {}, start, MONTH)
            advice = tiers.advise(f"s{i}", current, recorded, catalog, draws=draws, seed=seed + n,
                                  headroom=headroom)
            nxt = ((n + 1) * MONTH, (n + 2) * MONTH)
            failed = None
            if advice.action == "downgrade" and advice.plan is not None:
                failed = peak_in(under[advice.plan], *nxt) >= 1.0
            cheaper = [p for p in plans.values() if p is not None and p.price_usd_month < current.price_usd_month]
            safe = [p for p in cheaper if peak_in(under[p.id], n * MONTH, nxt[1]) <= 0.9]
            missed = advice.action != "downgrade" and bool(safe)
            rows.append(Row(f"s{i}", habit, current.id, n, advice.action, advice.plan, advice.monthly_saving,
                            advice.confidence, failed, missed,
                            max((current.price_usd_month - p.price_usd_month for p in safe), default=0.0)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seats", type=int, default=40)
    ap.add_argument("--months", type=int, default=4)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--draws", type=int, default=300, help="bootstrap months per plan and advice")
    ap.add_argument("--headroom", type=float, default=tiers.DOWNGRADE_HEADROOM,
                    help="share of the cheaper plan's limits the recorded month may use")
    ap.add_argument("--heavy", type=float, default=HEAVY, help="the heavy month's demand against the usual")
    args = ap.parse_args()
    rows = run(args.seats, args.months, args.seed, args.draws, args.headroom, args.heavy)
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by[r.habit].append(r)
    by["all"] = rows
    print(f"Plan advice, held-out month: {args.seats} seats x {args.months - 1} advised months "
          f"(advise from month N, replay month N+1; headroom {args.headroom:.0%}, heavy month x{args.heavy:g}, "
          f"growth {GROWTH:.0%}/month)")
    print(f"{'habit':12} {'advices':>7} {'downgr.':>7} {'failed':>6} {'upgr.':>5} {'keep':>5} {'unknown':>7} "
          f"{'missed':>6} {'med. saving':>11} {'med. conf':>9} {'taken/avail':>11}")
    for habit in [*HABITS, "all"]:
        rs = by.get(habit, [])
        if not rs:
            continue
        down = [r for r in rs if r.action == "downgrade"]
        failed = sum(bool(r.failed) for r in down)
        saving = statistics.median(r.saving for r in down) if down else 0.0
        conf = statistics.median(r.confidence or 0.0 for r in down) if down else None
        taken = sum(r.saving for r in down)
        avail = sum(r.safe_saving for r in rs)
        print(f"{habit:12} {len(rs):>7} {len(down):>7} {failed:>6} "
              f"{sum(r.action == 'upgrade' for r in rs):>5} {sum(r.action == 'keep' for r in rs):>5} "
              f"{sum(r.action == 'unknown' for r in rs):>7} {sum(r.missed for r in rs):>6} "
              f"{'$' + format(saving, ',.0f'):>11} {'-' if conf is None else format(conf, '.0%'):>9} "
              f"{'-' if not avail else format(taken / avail, '.0%'):>11}")
    bad = sum(bool(r.failed) for r in rows)
    print("\nfailed: an advised downgrade ran out in the held-out month (target 0); missed: a cheaper plan stayed "
          "under 90% through both months but no downgrade was advised; taken/avail: advised savings over the "
          "savings that were safe to take.")
    print(f"advised downgrades that would have failed: {bad}: {'PASS' if not bad else 'FAIL'}")
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
