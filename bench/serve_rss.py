"""Resident memory of an idle ``quotawarden serve`` with 30 accounts on SQLite, and of an idle ``quotawarden proxy``.

    python bench/serve_rss.py [--accounts 30] [--minutes 10] [--every 10] [--base /path/to/other/checkout]

The accounts are the demo's mix (healthy, warning, limited, a bad key) repeated with new keys, answered by the
provider emulator on loopback (its own process, so its memory is not counted). The daemon polls them all, then
idles: its RSS (``VmRSS`` of ``/proc/<pid>/status``) is read right after the first poll, then every ``--every``
seconds for ``--minutes`` minutes; drift is the last reading minus the first, and "2nd half" the spread of the
readings of the second half (a daemon that grows keeps growing there; one that settles after its first jobs does
not). Then each daemon answers one
``GET /v1/status`` (the admin's, with the token ``serve`` wrote to its data dir), timed, and is read again 3 s later.
``--base DIR`` runs another checkout's daemon (``git worktree add DIR <commit>``) beside it, on a store of its own,
read at the same moments. The proxy (``quotawarden proxy``) is read 3 s after it listens. Target: <= 64 MB, no
drift.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
TARGET_MB = 64.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _emulator(accounts: int, tmp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """The emulator in a process of its own (this checkout's), writing the config once it listens."""
    code = f"""
import sys, time
sys.path.insert(0, {str(HERE / 'src')!r})
from quotawarden.emulator import Scenario, create_app, demo_scenario, serve, write_demo_config
from quotawarden.emulator.scenario import EmuAccount
demo = demo_scenario().accounts
accts = []
for i in range({accounts}):
    a = demo[i % len(demo)]; n = i // len(demo)
    accts.append(EmuAccount(a.id if n == 0 else f"{{a.id}}-{{n}}", a.provider, a.credential[:-6] + f"{{i:06d}}",
                            dict(a.limits), dict(a.used), dict(a.rate_per_hour), dict(a.resets), a.fault,
                            a.fault_count, a.latency_ms, dict(a.extra)))
sc = Scenario(accounts=accts, start=demo_scenario().start)
with serve(create_app(sc)) as url:
    write_demo_config(sc, url, {str(tmp)!r})
    open({str(tmp / 'ready')!r}, 'w').close()
    while True:
        time.sleep(3600)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (tmp / "ready").exists():
        if time.time() > deadline or proc.poll() is not None:
            raise SystemExit("the emulator did not start")
        time.sleep(0.1)
    return proc, tmp / "config.toml"


def _env(src: Path, tmp: Path, cfg: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(src), "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "data"),
           "XDG_CONFIG_HOME": str(tmp / "xdg"), "QUOTAWARDEN_CONFIG": str(cfg),
           "QUOTAWARDEN_DB_URL": f"sqlite:///{tmp / 'qw.db'}"}
    env.pop("QUOTAWARDEN_ADMIN_TOKEN", None)
    return env


def _polled(db: Path, since: float) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM account_state WHERE observed_ts >= ?", (since,))
                       .fetchone()[0])
    except sqlite3.Error:
        return 0


class Daemon:
    """One checkout's ``serve`` on its own store (already migrated, as after a restart), sharing the emulator."""

    def __init__(self, name: str, src: Path, tmp: Path, cfg: Path) -> None:
        self.name, self.work = name, tmp / name
        self.work.mkdir()
        env = _env(src, self.work, cfg)
        # a store that exists already (the daemon restarted, or `poll` run before): a new one loads Alembic once
        code = "import sys; from quotawarden.store import open_store; open_store(sys.argv[1]).close()"
        subprocess.run([sys.executable, "-c", code, env["QUOTAWARDEN_DB_URL"]], env=env, check=True, timeout=120)
        self.t0, self.port = time.time(), _port()
        self.proc = subprocess.Popen([sys.executable, "-m", "quotawarden.interfaces.cli.main", "serve", "--port",
                                      str(self.port), "--log-level", "warning"], env=env, cwd=self.work,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.work / "serve.log", "wb"))  # noqa: SIM115
        self.first_poll_s = self.request_s = self.after_request = 0.0
        self.readings: list[float] = []

    def wait_first_poll(self, accounts: int) -> None:
        deadline = time.time() + 180
        while _polled(self.work / "qw.db", self.t0) < accounts:
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"{self.name}: serve did not poll every account: "
                                 f"{(self.work / 'serve.log').read_text()[-800:]}")
            time.sleep(0.2)
        self.first_poll_s = time.time() - self.t0

    def read(self) -> None:
        self.readings.append(rss_mb(self.proc.pid))

    def request(self) -> None:
        """One ``GET /v1/status`` as the admin, timed."""
        token = (self.work / "data" / "quotawarden" / "admin-token").read_text().strip()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/v1/status",
                                     headers={"Authorization": f"Bearer {token}"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
        self.request_s = time.perf_counter() - t0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)

    def summary(self) -> dict[str, float]:
        r = self.readings
        return {"first_poll_s": self.first_poll_s, "after_poll": r[0], "median": statistics.median(r),
                "max": max(r), "last": r[-1], "drift": r[-1] - r[0], "n": len(r),
                "late": max(r[len(r) // 2:]) - min(r[len(r) // 2:]), "request_s": self.request_s,
                "after_request": self.after_request}


def serve_rss(trees: list[tuple[str, Path]], accounts: int, minutes: float, every: float, tmp: Path,
              cfg: Path) -> dict[str, dict[str, float]]:
    """Every checkout's daemon at once, read at the same moments: right after its first poll, then every
    ``every`` seconds for ``minutes`` minutes."""
    daemons = [Daemon(n, src, tmp, cfg) for n, src in trees]
    try:
        for d in daemons:
            d.wait_first_poll(accounts)
        time.sleep(3)  # the poll's writes and alert checks settle
        end = time.time() + minutes * 60
        while True:
            for d in daemons:
                d.read()
            if time.time() >= end:
                break
            time.sleep(min(every, max(end - time.time(), 0.1)))
        for d in daemons:
            d.request()
        time.sleep(3)
        for d in daemons:
            d.after_request = rss_mb(d.proc.pid)
        return {d.name: d.summary() for d in daemons}
    finally:
        for d in daemons:
            d.stop()


def proxy_rss(name: str, src: Path, tmp: Path, cfg: Path) -> float:
    work = tmp / f"{name}-proxy"
    work.mkdir()
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "quotawarden.interfaces.cli.main", "proxy", "--port",
                             str(port)], env=_env(src, work, cfg), cwd=work, stdout=subprocess.DEVNULL,
                            stderr=open(work / "proxy.log", "wb"))  # noqa: SIM115
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"{name}: the proxy did not start: "
                                     f"{(work / 'proxy.log').read_text()[-800:]}") from None
                time.sleep(0.2)
        time.sleep(3)
        return rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--every", type=float, default=10.0, help="seconds between two readings")
    ap.add_argument("--base", type=Path, help="another checkout to measure the same way")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qw-bench-rss-"))
    emu, cfg = _emulator(args.accounts, tmp)
    trees = [("this", HERE / "src"), *([("base", args.base / "src")] if args.base else [])]
    try:
        proxies = {n: proxy_rss(n, src, tmp, cfg) for n, src in trees}
        results = serve_rss(trees, args.accounts, args.minutes, args.every, tmp, cfg)
    finally:
        emu.terminate()
        emu.wait(30)
    print(f"\nserve, {args.accounts} accounts on SQLite, RSS in MB over {args.minutes:g} min "
          f"(a reading every {args.every:g} s)\n")
    print(f"{'checkout':<9} {'1st poll s':>10} {'after poll':>10} {'median':>8} {'max':>8} {'last':>8} "
          f"{'drift':>7} {'2nd half':>8}  target <= {TARGET_MB:.0f} MB")
    for n, r in results.items():
        ok = "ok" if r["max"] <= TARGET_MB else "OVER"
        print(f"{n:<9} {r['first_poll_s']:>10.1f} {r['after_poll']:>10.1f} {r['median']:>8.1f} {r['max']:>8.1f} "
              f"{r['last']:>8.1f} {r['drift']:>+7.1f} {r['late']:>8.1f}  {ok}")
    if "base" in results:
        print(f"this/base (median): {results['this']['median'] / results['base']['median']:.2f}x")
    print("then one GET /v1/status: " + ", ".join(
        f"{n} answered in {r['request_s']:.2f} s, RSS {r['after_request']:.1f} MB "
        f"({r['after_request'] - r['last']:+.1f})" for n, r in results.items()))
    print("\nproxy, idle after start-up, RSS in MB: "
          + ", ".join(f"{n} {v:.1f}" for n, v in proxies.items()))


if __name__ == "__main__":
    main()
