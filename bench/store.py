"""Store benchmark: write 1,000,000 samples, then answer "latest sample for every account/window".

    python bench/store.py [--samples 1000000] [--accounts 1000] [--pg postgresql://postgres@127.0.0.1/test]

Prints one table for SQLite (a temporary file) and, when a PostgreSQL URL is given (or QUOTAWARDEN_TEST_PG_URL
is set), for PostgreSQL in a throw-away schema. Targets: write >= 100k rows/s; latest-of-1,000 < 50 ms on SQLite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from quotawarden.domain import Provenance, QuotaSample, Source, Unit
from quotawarden.store import open_store
from quotawarden.store import samples as samples_q

WINDOWS = ("5h", "7d")
T0 = datetime(2026, 8, 1, tzinfo=UTC)


def generate(n: int, accounts: int) -> list[list[QuotaSample]]:
    """Batches of one poll round each: every account/window observed once per 5 minutes."""
    per_round = accounts * len(WINDOWS)
    rounds = max(1, n // per_round)
    batches = []
    for r in range(rounds):
        at = T0 + timedelta(minutes=5 * r)
        batches.append([
            QuotaSample(observed_at=at, account_id=f"acct-{a:04d}", window=w, unit=Unit.PERCENT,
                        source=Source.PROBE, provenance=Provenance.OFFICIAL, used_ratio=((r + a) % 100) / 100,
                        resets_at=at + timedelta(hours=5), window_length_s=18000)
            for a in range(accounts) for w in WINDOWS
        ])
    return batches


def run(url: str, batches: list[list[QuotaSample]], label: str) -> dict[str, object]:
    store = open_store(url)
    total = sum(len(b) for b in batches)
    t = time.perf_counter()
    group: list[QuotaSample] = []
    for b in batches:  # write in groups of ~100k samples: a busy daemon's or an import's batch size
        group.extend(b)
        if len(group) >= 100_000:
            samples_q.write_samples(store, group)
            group = []
    samples_q.write_samples(store, group)
    write_s = time.perf_counter() - t
    times = []
    for _ in range(21):
        q = time.perf_counter()
        latest = samples_q.latest(store)
        times.append(time.perf_counter() - q)
    rewrite = time.perf_counter()
    samples_q.write_samples(store, batches[-1])  # idempotent: stored once
    rewrite_s = time.perf_counter() - rewrite
    stored = samples_q.count(store)
    store.close()
    return {"backend": label, "samples": total, "stored": stored, "write_s": write_s,
            "rows_per_s": total / write_s, "latest_rows": len(latest),
            "latest_p50_ms": statistics.median(times) * 1000, "latest_max_ms": max(times) * 1000,
            "rewrite_ms": rewrite_s * 1000}


def pg_url(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"qw_bench_{uuid.uuid4().hex[:8]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = plain.replace("postgresql://", "postgresql+psycopg://")
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", schema


def drop_pg(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--pg", default=os.environ.get("QUOTAWARDEN_TEST_PG_URL"))
    args = ap.parse_args()
    batches = generate(args.samples, args.accounts)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(run(f"sqlite:///{Path(tmp) / 'bench.db'}", batches, "sqlite"))
    if args.pg:
        url, schema = pg_url(args.pg)
        try:
            results.append(run(url, batches, "postgresql"))
        finally:
            drop_pg(args.pg, schema)
    else:
        print("PostgreSQL skipped: pass --pg URL or set QUOTAWARDEN_TEST_PG_URL")
    print(f"\nstore benchmark: {args.samples:,} samples, {args.accounts:,} accounts x {len(WINDOWS)} windows\n")
    print(f"{'backend':<11} {'samples':>10} {'stored':>10} {'write s':>8} {'rows/s':>9} "
          f"{'latest rows':>11} {'latest p50 ms':>13} {'latest max ms':>13} {'rewrite ms':>10}")
    for r in results:
        print(f"{r['backend']:<11} {r['samples']:>10,} {r['stored']:>10,} {r['write_s']:>8.2f} "
              f"{r['rows_per_s']:>9,.0f} {r['latest_rows']:>11,} {r['latest_p50_ms']:>13.1f} "
              f"{r['latest_max_ms']:>13.1f} {r['rewrite_ms']:>10.1f}")
    print("\ntargets: write >= 100,000 rows/s; latest-of-1,000 < 50 ms on SQLite")


if __name__ == "__main__":
    main()
