"""Latency of the two prompt-time commands, ``summary`` and ``statusline``, against a store holding 90 days of data.

    python bench/summary_statusline.py [--days 90] [--accounts 10] [--runs 21] [--db sqlite:///path.db]

Each command runs as a fresh process, as a shell prompt or an agent's status-line hook runs it; the table shows
the median and p90 wall time over ``--runs`` runs next to a bare ``python -c pass`` (the interpreter's floor).
Target: median < 100 ms for each. The machine is shared and has 2 cores: expect noise, compare the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from quotawarden.domain import Account, QuotaSample, Source, Unit, UsageEvent
from quotawarden.store import accounts as accounts_q
from quotawarden.store import open_store
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q

STEP = timedelta(minutes=5)
STATUS_JSON = (b'{"model": {"display_name": "Opus"}, "rate_limits": {"five_hour": {"used_percentage": 42}, '
               b'"seven_day": {"used_percentage": 61}}}')


def fill(url: str, days: int, accounts: int) -> tuple[int, int]:
    store = open_store(url)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ids = ["claude", *[f"acct-{i:03d}" for i in range(accounts - 1)]]
    accounts_q.upsert_accounts(store, [Account(i, "claude", pool="max") for i in ids])
    start = now - timedelta(days=days)
    n_samples = n_usage = 0
    t = start
    batch: list[QuotaSample] = []
    while t <= now:
        step = int((t - start) / STEP)
        for k, acc in enumerate(ids):
            for window, length in (("5h", 60), ("7d", 2016)):
                ratio = ((step + 7 * k) % length) / length
                batch.append(QuotaSample(t, acc, window, Unit.PERCENT, Source.PROBE, used_ratio=ratio,
                                         resets_at=t + STEP * (length - (step + 7 * k) % length)))
        if len(batch) >= 50_000:
            n_samples += samples_q.write_samples(store, batch)
            batch = []
        t += STEP
    n_samples += samples_q.write_samples(store, batch)
    events = [UsageEvent(start + timedelta(hours=h), "claude", "claude-sonnet-4", Source.LOG, f"b-{h}-{k}",
                         account_id=acc, consumer=f"agent-{k % 3}", input_tokens=1000, output_tokens=200,
                         cost=Decimal("0.02"))
              for h in range(days * 24) for k, acc in enumerate(ids)]
    n_usage = usage_q.write_usage(store, events)
    store.close()
    return n_samples, n_usage


def timed(cmd: list[str], env: dict[str, str], runs: int, stdin: bytes | None = None) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, input=stdin if stdin is not None else b"", env=env, capture_output=True,
                              timeout=60)
        out.append((time.perf_counter() - t0) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode()[-500:]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--db", help="use (and fill) this database instead of a temporary SQLite file")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="qw-bench-")
    url = args.db or f"sqlite:///{tmp}/qw.db"
    t0 = time.perf_counter()
    n_samples, n_usage = fill(url, args.days, args.accounts)
    print(f"store: {n_samples:,} samples, {n_usage:,} usage events over {args.days} days "
          f"({args.accounts} accounts), filled in {time.perf_counter() - t0:.1f} s")
    env = {**os.environ, "QUOTAWARDEN_DB_URL": url, "QUOTAWARDEN_CONFIG": str(Path(tmp) / "none.toml"),
           "HOME": tmp}
    env.pop("QUOTAWARDEN_CONFIG")
    env["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
    qw = [sys.executable, "-m", "quotawarden.interfaces.cli.main"]
    rows = [
        ("python -c pass (floor)", timed([sys.executable, "-c", "pass"], env, args.runs)),
        ("quotawarden summary", timed([*qw, "summary"], env, args.runs)),
        ("quotawarden summary --format ... --join", timed([*qw, "summary", "--format", "{icon}{id} {worst_pct}",
                                                           "--join", " | "], env, args.runs)),
        ("quotawarden statusline (no stdin)", timed([*qw, "statusline"], env, args.runs)),
        ("quotawarden statusline (Claude Code JSON)", timed([*qw, "statusline"], env, args.runs, STATUS_JSON)),
    ]
    print(f"\n{'command':<44} {'median ms':>10} {'p90 ms':>8} {'min ms':>8}  target < 100 ms")
    for name, ms in rows:
        p90 = sorted(ms)[int(0.9 * (len(ms) - 1))]
        ok = "" if name.startswith("python") else ("ok" if statistics.median(ms) < 100 else "OVER")
        print(f"{name:<44} {statistics.median(ms):>10.1f} {p90:>8.1f} {min(ms):>8.1f}  {ok}")


if __name__ == "__main__":
    main()
