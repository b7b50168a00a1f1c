"""How long one planner decision takes: ``analysis.planner.plan`` (``quotawarden next``, MCP, ``summary``,
``/v1/status``) and ``analysis.rotation.rank`` (the proxy's pool ordering) over 2, 5 and 20 accounts of mixed
capacity (included, paid, local; two windows each), both strategies.

    .venv/bin/python bench/next_decision.py [--rounds 7] [--n 2000]

Prints the median microseconds per decision over ``--rounds`` rounds of ``--n`` decisions. The machine is shared
(2 cores): numbers are noisy; the target is well under 1 ms for 20 accounts.
"""

from __future__ import annotations

import argparse
import statistics
import time

from quotawarden.analysis import rotation
from quotawarden.analysis.planner import PlannerSettings, Room, option, plan
from quotawarden.domain import Health, Outcome

NOW = 1_800_000_000.0
TIERS = ("included", "included", "paid", "local")


def options(n: int) -> list:  # type: ignore[type-arg]
    out = []
    for i in range(n):
        cap = TIERS[i % len(TIERS)]
        out.append(option(f"acc-{i}", {"included": "claude", "paid": "openai", "local": "ollama"}[cap], cap,
                          "GREEN", "OK", (Room("5h", 0.05 + 0.03 * i, 0.8, NOW + 600 * i, i % 5 == 0),
                                          Room("7d", 0.2 + 0.01 * i, 0.9, NOW + 3 * 86400))))
    return out


def candidates(n: int) -> list[rotation.Candidate]:
    return [rotation.Candidate(f"acc-{i}", "claude", "pool", Health.UNKNOWN, Outcome.OK, 0.5 - 0.01 * i, "5h")
            for i in range(n)]


def timed(fn: object, n: int, rounds: int) -> float:
    runs = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            fn()  # type: ignore[operator]
        runs.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--n", type=int, default=2000)
    a = ap.parse_args()
    cfg = PlannerSettings()
    print(f"{'accounts':>8}  {'plan drain_soonest':>18}  {'plan headroom':>13}  {'rank (proxy)':>12}   (median us)")
    for k in (2, 5, 20):
        opts, cands = options(k), candidates(k)
        pools = [rotation.PoolSpec("pool", tuple(c.account_id for c in cands))]
        d = timed(lambda: plan(opts, cfg, now=NOW, strategy="drain_soonest"), a.n, a.rounds)  # noqa: B023
        h = timed(lambda: plan(opts, cfg, now=NOW, strategy="headroom"), a.n, a.rounds)  # noqa: B023
        r = timed(lambda: rotation.rank(cands, pools, "pool", strategy="drain_soonest"), a.n, a.rounds)  # noqa: B023
        print(f"{k:>8}  {d:>18.1f}  {h:>13.1f}  {r:>12.1f}")


if __name__ == "__main__":
    main()
