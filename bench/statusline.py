"""``quotawarden statusline`` latency on a SQLite store holding 90 days of data (target: median < 100 ms).

    .venv/bin/python bench/statusline.py [--runs 20]

The store gets 90 days of 5-minute quota samples for the logged-in account and a generated Claude Code tree
ingested into the usage roll-ups; then the status line runs as Claude Code runs it (a new process each time),
with the fixture JSON on stdin and with none. The machine is shared and has 2 cores: numbers are noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from agent_logs import generate

ROOT = Path(__file__).resolve().parent.parent
STDIN = ROOT / "tests" / "logs" / "fixtures" / "claude_code_statusline_input.json"


def populate(tmp: Path, url: str) -> None:
    from quotawarden.domain import Provenance, QuotaSample, Source, Unit
    from quotawarden.store import open_store
    from quotawarden.store import samples as samples_q

    store = open_store(url)
    now = time.time()
    samples = [QuotaSample(observed_at=datetime.fromtimestamp(now - i * 300, UTC), account_id="claude", window=w,
                           unit=Unit.PERCENT, source=Source.STATUSLINE, provenance=Provenance.OFFICIAL,
                           used_ratio=(i % 100) / 100, window_length_s=length)
               for i in range(90 * 288) for w, length in (("5h", 18000), ("7d", 604800))]
    samples_q.write_samples(store, samples)
    store.close()
    generate(tmp / "claude", 30_000, start=now - 90 * 86400)
    env = {**os.environ, "QUOTAWARDEN_DB_URL": url, "CLAUDE_CONFIG_DIR": str(tmp / "claude"),
           "QUOTAWARDEN_CONFIG": str(tmp / "none.toml")}
    subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "usage", "ingest"], env=env,
                   check=True, capture_output=True)


def median_ms(env: dict[str, str], stdin: bytes, runs: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "statusline"], input=stdin,
                           env=env, capture_output=True, check=True)
        times.append((time.perf_counter() - t) * 1000)
        out = p.stdout.decode().strip()
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qw-bench-statusline-"))
    try:
        (tmp / "none.toml").write_text("")
        url = f"sqlite:///{tmp / 'qw.db'}"
        populate(tmp, url)
        env = {**os.environ, "QUOTAWARDEN_DB_URL": url, "QUOTAWARDEN_CONFIG": str(tmp / "none.toml")}
        t0 = [0.0] * args.runs
        for i in range(args.runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            t0[i] = (time.perf_counter() - t) * 1000
        rows = [("python -c pass (interpreter start-up floor)", statistics.median(t0), "")]
        rows.append(("statusline, fixture JSON on stdin", *median_ms(env, STDIN.read_bytes(), args.runs)))
        rows.append(("statusline, no stdin (reads the store)", *median_ms(env, b"", args.runs)))
        print(f"\n{'what (median of ' + str(args.runs) + ')':48} {'ms':>7}  output")
        for name, ms, out in rows:
            print(f"{name:48} {ms:7.1f}  {out}")
        worst = max(r[1] for r in rows[1:])
        print(f"\n{'MET   ' if worst < 100 else 'MISSED'} statusline median < 100 ms: {worst:.0f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
