"""Backtest of the forecasts on emulated accounts with known usage processes (steady, bursty, weekly rhythm).

    python bench/forecast_backtest.py [--accounts 12] [--seed 1]

1. Exhaustion: for each account and reset period, stand at half the window, take the samples the status would
   use (the look-back of ``store.analysis_queries.lookback_for``), project exhaustion with ``analysis.burn`` and
   compare with when the emulated window really ran out. Error = |projected - true| / (true - now).
   Target: every steady period within 10 %.
2. Tier advice: 60 days per account on Claude Max 20x; advise from days 0-29, then check the held-out days
   30-59. Target: no advised downgrade breaks on the held-out month.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from quotawarden.analysis import simulate as sim
from quotawarden.analysis import tiers
from quotawarden.analysis.burn import burn_rate, from_samples, project
from quotawarden.store.analysis_queries import lookback_for

WINDOWS = {"5h": 5 * 3600, "7d": 7 * 86400}


def processes(n: int, seed: int) -> list[tuple[str, str, sim.Process]]:
    """(kind, window, share-of-limit per hour): each exhausts somewhere between 55% and 95% of its window."""
    out: list[tuple[str, str, sim.Process]] = []
    for i in range(n):
        for window, length in WINDOWS.items():
            hours = length / 3600
            frac = 0.55 + 0.4 * i / max(1, n - 1)
            out.append(("steady", window, sim.steady(1 / (hours * frac))))
            out.append(("bursty", window, sim.bursty(0.4 / hours, 3 / hours, seed + i,
                                                     mean_gap_h=hours / 3, mean_len_h=hours / 10)))
            out.append(("weekly", window, sim.weekly_rhythm(2.2 / (hours * frac))))
    return out


def exhaustion_backtest(n: int, seed: int) -> list[dict[str, object]]:
    rows: dict[tuple[str, str], list[float]] = {}
    alarms: dict[tuple[str, str], list[int]] = {}
    for idx, (kind, window, proc) in enumerate(processes(n, seed)):
        length = WINDOWS[window]
        end = sim.at(0) + timedelta(seconds=length * (4 if window == "7d" else 40))
        samples, truths = sim.simulate(f"a{idx}", window, length, proc, sim.at(0), end, noise=0.004, seed=idx)
        span, _ = lookback_for(length)
        for tr in truths:
            half = tr.start + (tr.resets_at - tr.start) / 2
            seen = [s for s in samples if half - timedelta(seconds=span) <= s.observed_at <= half]
            if len(seen) < 2 or (seen[-1].used_ratio or 0) >= 1.0:
                continue
            proj = project(burn_rate(from_samples(seen)), tr.resets_at, half, cap=1.0)
            predicted = proj.exhausts_at if proj.exhausts_before_reset else None
            key = (kind, window)
            a = alarms.setdefault(key, [0, 0, 0])
            if tr.exhausted_at is None or tr.exhausted_at <= half:
                a[1] += predicted is not None  # false alarm
                continue
            if predicted is None:
                a[2] += 1  # missed
                continue
            err = abs((predicted - tr.exhausted_at).total_seconds()) / (tr.exhausted_at - half).total_seconds()
            rows.setdefault(key, []).append(err)
            a[0] += 1
    table = []
    for key in sorted(set(rows) | set(alarms)):
        errs = sorted(rows.get(key, []))
        a = alarms.get(key, [0, 0, 0])
        table.append({
            "process": key[0], "window": key[1], "periods": len(errs),
            "median_err": statistics.median(errs) if errs else None,
            "p90_err": errs[int(0.9 * (len(errs) - 1))] if errs else None,
            "max_err": errs[-1] if errs else None,
            "within_10pct": sum(e <= 0.10 for e in errs) / len(errs) if errs else None,
            "false_alarms": a[1], "missed": a[2],
        })
    return table


def tier_backtest(n: int, seed: int) -> list[dict[str, object]]:
    catalog = tiers.load_catalog()
    current = tiers.find_plan(catalog, "claude-max-20x")
    assert current is not None
    pro5, pro7 = 1.0, 10.0  # demand units: one Pro 5-hour allowance; a Pro week holds 10 of them
    kinds: list[tuple[str, sim.Process]] = []
    for i in range(n):
        level = 0.03 * 12 ** (i / max(1, n - 1))  # demand from well under Pro to about Max 20x
        kinds += [("steady", sim.steady(level)), ("weekly", sim.weekly_rhythm(level * 2.5)),
                  ("bursty", sim.bursty(level * 0.6, level * 6, seed + 100 + i, mean_gap_h=30, mean_len_h=3))]
    out = []
    for idx, (kind, demand) in enumerate(kinds):
        series: dict[str, list[tuple[float, float | None]]] = {}
        for window, length, cap in (("5h", 5 * 3600, current.capacity["5h"] * pro5),
                                    ("7d", 7 * 86400, current.capacity["7d"] * pro7)):
            samples, _ = sim.simulate(f"t{idx}", window, length, lambda t, c=cap, d=demand: d(t) / c, sim.at(0),
                                      sim.at(60), step_s=900, seed=idx)
            series[window] = [(s.observed_at.timestamp(), s.used_ratio) for s in samples]
        days = tiers.days_from_series(series, {"7d": 7}, {}, sim.at(0).timestamp(), 60)
        train, test = days[:30], days[30:]
        advice = tiers.advise(f"t{idx}", current, train, catalog)
        target = tiers.find_plan(catalog, advice.plan) if advice.action == "downgrade" else None
        held = tiers.holds(test, current, target, 1.0) if target else None
        cheaper = [o for o in advice.options if o["saving"] > 0 and o["plan"] != "api"]
        best = max(cheaper, key=lambda o: (o["confidence"], o["saving"]), default=None)
        nearest = "-" if best is None else (f"{best['plan']} {best['confidence']:.0%}"
                                            + (" broke" if best["broke_in_replay"] else ""))
        out.append({"account": f"t{idx}", "process": kind, "advice": advice.action, "plan": advice.plan,
                    "confidence": advice.confidence, "held_out_ok": held, "nearest": nearest})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=6, help="accounts per process kind")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    print("Exhaustion projection at half the window (error relative to the true time left)")
    print(f"{'process':8} {'window':6} {'periods':>7} {'median':>8} {'p90':>8} {'max':>8} {'<=10%':>7} "
          f"{'false+':>6} {'missed':>6}")
    steady_ok = True
    for r in exhaustion_backtest(args.accounts, args.seed):
        def pct(v: object) -> str:
            return "-" if v is None else f"{float(v) * 100:.1f}%"  # type: ignore[arg-type]
        print(f"{r['process']:8} {r['window']:6} {r['periods']:>7} {pct(r['median_err']):>8} {pct(r['p90_err']):>8} "
              f"{pct(r['max_err']):>8} {pct(r['within_10pct']):>7} {r['false_alarms']:>6} {r['missed']:>6}")
        if r["process"] == "steady" and (r["within_10pct"] != 1.0 or r["missed"]):
            steady_ok = False
    print(f"steady within 10% of the truth at half window: {'PASS' if steady_ok else 'FAIL'}\n")

    rows = tier_backtest(args.accounts, args.seed)
    print("Tier advice on Claude Max 20x: advise from days 0-29, check days 30-59")
    print(f"{'account':8} {'process':8} {'advice':14} {'plan':16} {'conf':>6} {'held-out':>9}  "
          "best cheaper plan (bootstrap confidence, broke on a real day)")
    bad = 0
    for r in rows:
        conf = "-" if r["confidence"] is None else f"{float(r['confidence']) * 100:.0f}%"  # type: ignore[arg-type]
        held = "-" if r["held_out_ok"] is None else ("ok" if r["held_out_ok"] else "BROKE")
        bad += r["held_out_ok"] is False
        print(f"{r['account']:8} {r['process']:8} {r['advice']:14} {r['plan'] or '-':16} {conf:>6} {held:>9}  "
              f"{r['nearest']}")
    downgrades = sum(r["advice"] == "downgrade" for r in rows)
    print(f"downgrades advised: {downgrades}, broke on the held-out month: {bad}: {'PASS' if not bad else 'FAIL'}")
    if not steady_ok or bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
