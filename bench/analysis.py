"""Analysis benchmark: the whole ``status`` (health + burn rate + exhaustion of every window) over a long history.

    python bench/analysis.py [--accounts 1000] [--days 90] [--step 300] [--pg URL] [--no-sqlite] [--runs 5]

Defaults give 1,000 accounts x 90 days of 5-minute samples = 25.9M samples, bulk-loaded (SQLite: one
transaction of ``executemany`` on a raw connection; PostgreSQL: COPY), then ``status`` is timed end to end the way
``Service.status`` runs it: latest samples, per-window recent buckets (SQL), Theil-Sen burn, projection, health.
A PostgreSQL URL (or QUOTAWARDEN_TEST_PG_URL) adds a run in a throw-away schema. Target: < 1 s per status.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from quotawarden.app import reports
from quotawarden.config import Settings
from quotawarden.domain import Account
from quotawarden.store import accounts as accounts_q
from quotawarden.store import open_store
from quotawarden.store import samples as samples_q
from quotawarden.store.samples import _COLS

NOW = datetime(2026, 8, 20, 14, 0, tzinfo=UTC)
KINDS = [("5h", 5 * 3600, "percent", None), ("7d", 7 * 86400, "percent", None),
         ("monthly", 30 * 86400, "requests", 1500.0), ("daily", 86400, "requests", 250.0)]


def rows_for(a: int, days: int, step: int) -> Iterator[tuple[Any, ...]]:
    """One window per account (a mix of 5h, 7d, monthly, daily), a steady-ish burn with a daily rhythm."""
    window, length, unit, limit = KINDS[a % len(KINDS)]
    start = NOW.timestamp() - days * 86400
    rate = (0.3 + 0.9 * ((a * 37) % 100) / 100) / (length / 3600)
    used = 0.0
    period = start - (a * 997) % length
    n = days * 86400 // step
    for i in range(n + 1):
        t = start + i * step
        if t >= period + length:
            period += length
            used = 0.0
        used = min(1.0, used + rate * step / 3600 * (1.3 + math.sin(t / 13751)))
        ratio = round(used, 5)
        yield (f"acct-{a:04d}", window, t, "probe", "official", unit, ratio if limit is None else None,
               round(used * limit, 2) if limit else None, None, limit, period + length,
               "rejected" if used >= 1 else "allowed", length)


def load(url: str, accounts: int, days: int, step: int) -> float:
    store = open_store(url)
    cols = ", ".join(f'"{c}"' for c in _COLS)
    t0 = time.perf_counter()
    last: dict[int, tuple[Any, ...]] = {}

    def series(a: int) -> Iterator[tuple[Any, ...]]:
        for r in rows_for(a, days, step):
            last[a] = r
            yield r

    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.is_sqlite:
            cur.execute("PRAGMA synchronous=OFF")
            sql = f"INSERT OR IGNORE INTO samples ({cols}) VALUES ({', '.join('?' * len(_COLS))})"
            for a in range(accounts):
                cur.executemany(sql, series(a))
        else:
            with cur.copy(f"COPY samples ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for a in range(accounts):
                    for r in series(a):
                        copy.write_row(r)
        raw.commit()
    finally:
        raw.close()
    # latest_samples through the normal write path: one sample per account/window, the newest
    with store.engine.begin() as conn:
        samples_q._upsert_latest(store, conn, [dict(zip(_COLS, r, strict=True)) for r in last.values()])
    if not store.is_sqlite:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE samples")
    accounts_q.upsert_accounts(store, make_accounts(accounts))
    store.close()
    return time.perf_counter() - t0


def make_accounts(n: int) -> list[Account]:
    return [Account(id=f"acct-{a:04d}", provider=("claude", "claude", "copilot", "gemini")[a % 4]) for a in range(n)]


def status_once(url: str, accounts: list[Account]) -> dict[str, float]:
    store = open_store(url)
    settings = Settings()
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        latest = samples_q.latest(store)
        states = accounts_q.states(store)
        t1 = time.perf_counter()
        sts = reports.statuses(store, accounts, latest, states, settings, NOW)
        t2 = time.perf_counter()
        assert len(sts) == len(accounts)
        assert sum(1 for s in sts for w in s.windows if w.burn_rate_per_hour is not None) >= 0.9 * len(accounts)
        return {"latest": t1 - t0, "burn+health": t2 - t1, "total": t2 - t0, "cpu": time.process_time() - c0}
    finally:
        store.close()


def pg_url(base: str) -> tuple[str, str]:
    schema = f"qw_bench_{uuid.uuid4().hex[:8]}"
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(label: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    n = args.accounts * (args.days * 86400 // args.step + 1)
    print(f"[{label}] loading {n:,} samples ...", flush=True)
    load_s = load(url, args.accounts, args.days, args.step)
    accounts = make_accounts(args.accounts)
    runs = [status_once(url, accounts) for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {"backend": label, "samples": n, "load_s": load_s, "rows_per_s": n / load_s, **med,
            "max_total": max(r["total"] for r in runs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--step", type=int, default=300, help="seconds between samples")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pg", default=os.environ.get("QUOTAWARDEN_TEST_PG_URL"))
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--keep", help="SQLite file to keep (reused when it exists: no reload)")
    args = ap.parse_args()
    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(args.keep) if args.keep else Path(tmp) / "bench.db"
            url = f"sqlite:///{path}"
            if args.keep and path.exists():
                accounts = make_accounts(args.accounts)
                runs = [status_once(url, accounts) for _ in range(args.runs)]
                results.append({"backend": "sqlite (kept)", "samples": 0, "load_s": 0.0, "rows_per_s": 0.0,
                                **{k: statistics.median(r[k] for r in runs) for k in runs[0]},
                                "max_total": max(r["total"] for r in runs)})
            else:
                results.append(run("sqlite", url, args))
    if args.pg:
        url, schema = pg_url(args.pg)
        try:
            results.append(run("postgresql", url, args))
        finally:
            drop_schema(args.pg, schema)
    print(f"\nstatus of {args.accounts:,} accounts, {args.days} days of {args.step}-s samples "
          f"(median of {args.runs}; 2 shared cores, noisy)")
    print(f"{'backend':14} {'samples':>12} {'load s':>8} {'rows/s':>10} {'latest ms':>10} {'burn+health ms':>15} "
          f"{'status ms':>10} {'max ms':>8} {'cpu ms':>7} {'< 1 s':>6}")
    for r in results:
        print(f"{r['backend']:14} {r['samples']:>12,} {r['load_s']:>8.1f} {r['rows_per_s']:>10,.0f} "
              f"{r['latest'] * 1000:>10.1f} {r['burn+health'] * 1000:>15.1f} {r['total'] * 1000:>10.1f} "
              f"{r['max_total'] * 1000:>8.1f} {r['cpu'] * 1000:>7.1f} {'yes' if r['total'] < 1 else 'NO':>6}")


if __name__ == "__main__":
    main()
