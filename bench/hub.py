"""Seats pushing to one hub: 50 seats, each with 20 accounts (two windows each) and 2,000 usage events an hour,
push into one ``quotawarden serve`` on SQLite and on PostgreSQL.

    python bench/hub.py [--seats 50] [--accounts 20] [--events-per-hour 2000] [--compress 50] [--seconds 30]
                        [--rounds 3] [--baseline REV] [--pg postgresql://postgres@127.0.0.1:5432/test]

``--rounds`` repeats every run (databases and versions alternate in order from round to round) and prints the
median of each figure over the rounds; ``--baseline REV`` also runs the hub of git revision REV (its ``src``,
from ``git archive``) in each round, side by side, and prints the paired ratios (today / REV, median over rounds).

Time is compressed: the seats push every ``60 / --compress`` seconds (1.2 s) instead of every 60 s, each push carrying
what 60 real seconds bring (every account read once at a random moment of the interval: 40 readings; 2,000/60 =
33 usage events; the accounts, their states, the hour's call counts), so the hub takes 50x its real-time load.
Each push is the seat's wire format (``quotawarden.app.hub.Push``, gzip JSON), sent over loopback HTTP to the
hub, which runs as ``quotawarden serve`` runs (its own process, one uvicorn worker).

Measured: push latency (request sent -> hub's 200) p50/p99; the hub process's CPU (share of one core over the
run) and peak RSS (``/proc``); readings' end-to-end staleness, from the moment a seat read a window to the hub's
acknowledgement of the push that carried it, shown as measured (compressed) and in real time (the wait for the
next push scaled back to a 60 s interval, plus the push latency); and a reader's view: every 2 s the admin
reads ``GET /v1/hub/team`` and takes the oldest seat's newest reading (compressed seconds). Finally the hub's
row counts are checked against what was sent (nothing lost, nothing doubled).
Targets: push p99 < 250 ms, real-time staleness p99 < 90 s, hub RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from quotawarden.app import hub
from quotawarden.domain import Outcome, Provenance, Source, Unit

ADMIN = "qwa_bench-hub-admin-token"
REAL_INTERVAL = 60.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Seat:
    name: str
    token: str
    accounts: int
    events: int
    interval: float
    latencies: list[float] = field(default_factory=list)
    stored: list[float] = field(default_factory=list)
    """The hub's own time to store each push (its ``Server-Timing``), seconds."""
    staleness: list[float] = field(default_factory=list)
    """(ack time - reading time) per reading, compressed seconds."""
    waits: list[float] = field(default_factory=list)
    """(push sent - reading time) / interval per reading: where in the interval it was read."""
    sent_samples: int = 0
    sent_usage: int = 0
    errors: int = 0
    seq: int = 0

    def push(self, now: float) -> tuple[hub.Push, list[float]]:
        ids = [f"acct-{i:02d}" for i in range(self.accounts)]
        read_at = [now - random.random() * self.interval for _ in ids]
        samples: list[hub.SampleRow] = []
        for acc, t in zip(ids, read_at, strict=True):
            for win, length in (("5h", 18000), ("7d", 604800)):
                samples.append((acc, win, t, Source.PROBE, Provenance.OFFICIAL, Unit.PERCENT,
                                random.uniform(0.05, 0.7), None, None, None, now + 3600, None, length))
        usage: list[hub.UsageRow] = []
        for _ in range(self.events):
            self.seq += 1
            usage.append((f"{self.name}-{self.seq}", now - random.random() * self.interval, "anthropic",
                          "claude-sonnet-4-5", Source.LOG, random.choice(ids), "dev", f"proj-{self.seq % 4}", "s1",
                          "laptop", 1200, 300, 0, 0, 5000, 0, Decimal("0.0123"), None, None))
        hour = float(int(now) // 3600 * 3600)
        p = hub.Push(v=hub.VERSION, push_id=f"{self.name}-{self.seq}", seat="bench", sent_ts=now,
                     interval_s=REAL_INTERVAL,
                     accounts=[(a, "claude", a, "max", None, {}) for a in ids],
                     states=[(a, Outcome.OK, "", now, None) for a in ids],
                     samples=samples, usage=usage, outcomes=[(a, hour, 30, 0) for a in ids])
        return p, [r[2] for r in samples]


async def _drive(seat: Seat, client: httpx.AsyncClient, url: str, stop: float, offset: float) -> None:
    """One seat: a push every interval. The pushes of all seats share one event loop in this process (no
    threads fighting over the interpreter lock inside the timed part)."""
    headers = {"Authorization": f"Bearer {seat.token}", "Content-Type": "application/json",
               "Content-Encoding": "gzip"}
    next_at = time.time() + offset
    while True:
        delay = next_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.time() >= stop:
            return
        sent = time.time()
        p, read_at = seat.push(sent)
        body = hub.encode(p)
        t0 = time.perf_counter()
        try:
            r = await client.post(url + hub.PATH, content=body, headers=headers)
            ok = r.status_code == 200
            timing = r.headers.get("server-timing", "")
            if ok and "dur=" in timing:
                seat.stored.append(float(timing.split("dur=")[1]) / 1000)
        except httpx.HTTPError:
            ok = False
        lat = time.perf_counter() - t0
        acked = time.time()
        if ok:
            seat.latencies.append(lat)
            seat.sent_samples += len(p.samples)
            seat.sent_usage += len(p.usage)
            seat.staleness.extend(acked - t for t in read_at)
            seat.waits.extend((sent - t) / seat.interval for t in read_at)
        else:
            seat.errors += 1
        next_at += seat.interval


async def _all_seats(seats: list[Seat], url: str, stop: float, interval: float) -> None:
    limits = httpx.Limits(max_connections=len(seats), max_keepalive_connections=len(seats))
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(_drive(s, client, url, stop, i * interval / len(seats)) for i, s in enumerate(seats)))


class ProcWatch:
    """CPU seconds and peak RSS of one process, from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_rss = pid, 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak_rss = max(self.peak_rss, self.rss())

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


def _reader(url: str, stop: float, out: list[float]) -> None:
    """The admin's view: the oldest seat's newest reading, every 2 s (compressed seconds)."""
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        while time.time() < stop:
            time.sleep(2.0)
            try:
                t = c.get(url + "/v1/hub/team", params={"days": 1}).json()
            except (httpx.HTTPError, ValueError):
                continue
            newest = []
            for s in t.get("seats", []):
                obs = [w["observed_at"] for a in s["accounts"] for w in a["windows"] if w.get("observed_at")]
                if obs:
                    newest.append(max(obs))
            if newest:
                from datetime import datetime

                oldest = min(datetime.fromisoformat(o.replace("Z", "+00:00")).timestamp() for o in newest)
                out.append(time.time() - oldest)


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def run(db_url: str, label: str, args: argparse.Namespace, tmp: Path, src: Path | None = None) -> dict[str, Any]:
    """One hub (this tree's, or the one under ``src``) on one database, loaded by every seat for ``--seconds``."""
    seats = [Seat(f"seat{i:02d}", f"seat-token-{i:02d}-{os.urandom(8).hex()}", args.accounts,
                  round(args.events_per_hour * REAL_INTERVAL / 3600), args.interval) for i in range(args.seats)]
    cfg = tmp / f"hub-{label}.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[server]\nadmin_token = "{ADMIN}"\nkey_file = "{tmp / "k"}"\n'
                   f'[hub]\ninterval = "{REAL_INTERVAL}s"\n'
                   + "".join(f'[[hub.seats]]\nname = "{s.name}"\ntoken = "{s.token}"\n' for s in seats))
    port = _port()
    env = {**os.environ, "QUOTAWARDEN_LOAD_PLUGINS": "", "HOME": str(tmp)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.Popen([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(cfg), "serve",
                             "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the hub did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        watch = ProcWatch(proc.pid)
        watch.start()
        cpu0, t0 = watch.cpu(), time.time()
        stop = t0 + args.seconds
        reads: list[float] = []
        threads = [threading.Thread(target=lambda: asyncio.run(_all_seats(seats, url, stop, args.interval)),
                                    daemon=True)]
        if not args.no_reader:
            threads.append(threading.Thread(target=_reader, args=(url, stop, reads), daemon=True))
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        cpu = (watch.cpu() - cpu0) / (time.time() - t0)
        watch.stop()
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
            team = c.get(url + "/v1/hub/team", params={"days": 1}).json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    from quotawarden.store import hub as hub_q
    from quotawarden.store import open_store

    store = open_store(db_url)
    try:
        stored = {s.name: hub_q.count_rows(store, s.name + "/") for s in seats[:5]}
    finally:
        store.close()
    lat = [x for s in seats for x in s.latencies]
    hub_ms = [x for s in seats for x in s.stored]
    stale = [x for s in seats for x in s.staleness]
    waits = [x for s in seats for x in s.waits]
    lat_by = {id(s): s.latencies for s in seats}
    real = [w * REAL_INTERVAL + statistics.median(lat_by[id(s)] or [0]) for s in seats for w in s.waits]
    intact = all(stored[s.name] == {"samples": s.sent_samples, "usage": s.sent_usage} for s in seats[:5])
    pushes = len(lat)
    return {"db": label, "pushes": pushes, "errors": sum(s.errors for s in seats),
            "rate": pushes / args.seconds, "p50": _pct(lat, 0.5) * 1000, "p99": _pct(lat, 0.99) * 1000,
            "hub50": _pct(hub_ms, 0.5) * 1000, "hub99": _pct(hub_ms, 0.99) * 1000, "load": os.getloadavg()[0],
            "cpu": cpu * 100, "rss": watch.peak_rss / 2**20, "stale50": _pct(stale, 0.5), "stale99": _pct(stale, 0.99),
            "real50": _pct(real, 0.5), "real99": _pct(real, 0.99), "reader_max": max(reads) if reads else float("nan"),
            "waits": len(waits), "intact": intact, "seats_seen": len(team.get("seats", [])),
            "silent": sum(1 for s in team.get("seats", []) if s["silent"])}


HEAD = ("db", "hub", "pushes/s", "push p50 ms", "push p99 ms", "hub store p50 ms", "hub store p99 ms", "hub CPU %",
        "hub RSS MB", "stale p50 s", "stale p99 s", "real stale p50 s", "real stale p99 s", "reader max s", "errors",
        "intact", "load avg")
FIGURES = ("rate", "p50", "p99", "hub50", "hub99", "cpu", "rss", "stale50", "stale99", "real50", "real99",
           "reader_max", "load")


def _baseline_src(rev: str, tmp: Path) -> Path:
    """The ``src`` tree of git revision ``rev``, unpacked under ``tmp``."""
    dest = tmp / "baseline"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(Path(__file__).resolve().parents[1]), "archive", rev, "src"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = {k: statistics.median(r[k] for r in rows) for k in FIGURES}
    return {**rows[0], **out, "errors": sum(r["errors"] for r in rows), "intact": all(r["intact"] for r in rows),
            "rounds": len(rows), "p99_all": [r["p99"] for r in rows], "hub99_all": [r["hub99"] for r in rows]}


def _line(r: dict[str, Any], hub_name: str) -> str:
    return " | ".join([r["db"], hub_name, f"{r['rate']:.1f}", f"{r['p50']:.1f}", f"{r['p99']:.1f}",
                       f"{r['hub50']:.1f}", f"{r['hub99']:.1f}", f"{r['cpu']:.0f}", f"{r['rss']:.0f}",
                       f"{r['stale50']:.2f}", f"{r['stale99']:.2f}", f"{r['real50']:.1f}", f"{r['real99']:.1f}",
                       f"{r['reader_max']:.2f}", str(r["errors"]), "yes" if r["intact"] else "NO", f"{r['load']:.1f}"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seats", type=int, default=50)
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--events-per-hour", type=int, default=2000)
    ap.add_argument("--compress", type=float, default=None,
                    help="time compression: the hub takes this many times its real-time load (default 50)")
    ap.add_argument("--interval", type=float, default=1.2, help="compressed push interval (real: 60 s); "
                                                                "--compress sets it to 60 / compress")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rounds", type=int, default=1, help="runs per database (and per version); medians printed")
    ap.add_argument("--baseline", metavar="REV", help="also run the hub of this git revision, side by side")
    ap.add_argument("--db", default="sqlite,postgresql", help="which databases")
    ap.add_argument("--no-reader", action="store_true", help="no admin reading the team view during the run")
    ap.add_argument("--pg", default=os.environ.get("QUOTAWARDEN_TEST_PG_URL"), help="PostgreSQL URL (a fresh schema "
                                                                                    "is made and dropped)")
    args = ap.parse_args()
    if args.compress:
        args.interval = REAL_INTERVAL / args.compress
    dbs = [d for d in ("sqlite", "postgresql") if d in args.db and (d == "sqlite" or args.pg)]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="qw-bench-hub-") as d:
        tmp = Path(d)
        hubs: list[tuple[str, Path | None]] = [("today", None)]
        if args.baseline:
            hubs.append((args.baseline, _baseline_src(args.baseline, tmp)))
        for rnd in range(args.rounds):
            order = [(db, h) for db in dbs for h in hubs]
            for db, (name, src) in order if rnd % 2 == 0 else order[::-1]:
                n = sum(len(v) for v in runs.values())
                if db == "sqlite":
                    row = run(f"sqlite:///{tmp / f'hub-{n}.db'}", db, args, tmp, src)
                else:
                    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
                    from tests.conftest import pg_schema_url

                    gen = pg_schema_url(args.pg)
                    try:
                        row = run(next(gen), db, args, tmp, src)
                    finally:
                        next(gen, None)
                runs.setdefault((db, name), []).append(row)
                print(f"round {rnd + 1}/{args.rounds} {db} {name}: push p50 {row['p50']:.1f} ms, p99 {row['p99']:.1f} "
                      f"ms, hub store p50 {row['hub50']:.1f} ms, p99 {row['hub99']:.1f} ms, load {row['load']:.1f}",
                      flush=True)
    speed = REAL_INTERVAL / args.interval
    per_push = 2 * args.accounts, round(args.events_per_hour * REAL_INTERVAL / 3600)
    print(f"\n{args.seats} seats x {args.accounts} accounts, {args.events_per_hour} usage events/h each; pushes every "
          f"{args.interval:g} s standing for {REAL_INTERVAL:g} s (time compressed {speed:.0f}x: the hub takes "
          f"{speed:.0f}x its real-time load), {per_push[0]} readings + {per_push[1]} events per push, "
          f"{args.seconds:g} s per run, median of {args.rounds} round(s)\n")
    print(" | ".join(HEAD))
    print(" | ".join("-" * len(h) for h in HEAD))
    med = {k: _median_row(v) for k, v in runs.items()}
    for (_db, name), r in med.items():
        print(_line(r, name))
    print("\nstale: reading -> hub's acknowledgement, compressed seconds; real stale: the same with the wait for the "
          f"next push scaled to a {REAL_INTERVAL:g} s interval; reader max: the oldest seat's newest reading as the "
          "admin's GET /v1/hub/team saw it (compressed s); intact: the hub's rows equal what 5 seats sent; hub store: "
          "the hub's own time per push (Server-Timing: decode and write, without the client, the network and the "
          f"HTTP layer); load avg: the machine's 1-minute load at the end ({os.cpu_count()} cores).")
    if args.rounds > 1:
        for (db, name), r in med.items():
            print(f"{db} {name}: push p99 per round {', '.join(f'{x:.0f}' for x in r['p99_all'])} ms; hub store p99 "
                  f"per round {', '.join(f'{x:.0f}' for x in r['hub99_all'])} ms")
    if args.baseline:
        print(f"\ntoday / {args.baseline}, median of the per-round ratios (below 1: today is faster or lighter)")
        print("db | push p50 | push p99 | hub store p50 | hub store p99 | hub CPU | hub RSS")
        print("-- | -------- | -------- | ------------- | ------------- | ------- | -------")
        for db in dbs:
            a, b = runs[(db, "today")], runs[(db, args.baseline)]
            ratios = [statistics.median(x[k] / y[k] for x, y in zip(a, b, strict=True) if y[k])
                      for k in ("p50", "p99", "hub50", "hub99", "cpu", "rss")]
            print(f"{db} | " + " | ".join(f"{q:.2f}" for q in ratios))
    for (db, name), r in med.items():
        ok = r["p99"] < 250 and r["real99"] < 90 and r["rss"] < 300
        print(f"{db} {name}: targets p99 push < 250 ms, real staleness p99 < 90 s, hub RSS < 300 MB: "
              f"{'met' if ok else 'NOT met'} (medians); {r['seats_seen']} seats on the team view, {r['silent']} silent")


if __name__ == "__main__":
    main()
