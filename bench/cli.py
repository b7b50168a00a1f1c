"""Wall time of the everyday commands as whole processes, on a store with 30 accounts and 90 days of readings.

    python bench/cli.py [--accounts 30] [--days 90] [--rounds 11] [--base /path/to/other/checkout]

The store is what a daemon leaves after 90 days: the accounts polled once for real (the provider emulator on
loopback answers in each provider's wire format), 90 days of readings on each of their windows (5-minute raw ones
for the last 30 days, hourly roll-ups before, as ``keep_raw_days`` prunes them), their outcomes, and Claude Code logs
already imported (so ``usage daily`` has nothing new to read). Each command runs as a fresh process, as a shell
runs it: ``status``, ``status --json``, ``summary``, ``statusline`` and ``usage daily``, started the way the installed
``quotawarden`` script starts them (``from quotawarden.interfaces.cli.main import main; main()``: no ``python -m``,
whose ``runpy`` costs a few milliseconds a user never pays), with the checkout's ``src`` first on the path. Their
byte-code is compiled
once and cached (``PYTHONPYCACHEPREFIX`` in the temporary folder, whatever ``PYTHONDONTWRITEBYTECODE`` says), as an
installed package runs; ``--no-bytecode`` compiles the sources from text on every run instead.

``--base DIR`` runs the same commands against another checkout (``git worktree add DIR <commit>``) side by side:
the store is filled once by that checkout's code, copied and migrated forward for this one, and each round runs
both, alternating which goes first, so a burst of load on a shared machine hits both alike. The table shows
medians and the ratio (this checkout / base). Target: ``status`` < 200 ms; the rest no slower than the base.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
ENTRY_POINT = "import sys; from quotawarden.interfaces.cli.main import main; sys.exit(main())"
"""What pip's ``quotawarden`` console script runs (``[project.scripts]``), with the arguments after it."""
COMMANDS: list[tuple[str, list[str]]] = [
    ("status", ["status"]),
    ("status --json", ["status", "--json"]),
    ("summary", ["summary"]),
    ("statusline", ["statusline"]),
    ("usage daily", ["usage", "daily", "--timezone", "UTC"]),
]
STATUS_TARGET_MS = 200.0


# -- filling the store (runs in a child process, with the checkout under test first on sys.path) --------------------

def _scenario(accounts: int) -> Any:
    """The demo's mix (healthy, warning, limited, a bad key), repeated with new keys up to ``accounts``."""
    from quotawarden.emulator import Scenario, demo_scenario
    from quotawarden.emulator.scenario import EmuAccount

    demo = demo_scenario().accounts
    accts = []
    for i in range(accounts):
        a = demo[i % len(demo)]
        n = i // len(demo)
        accts.append(EmuAccount(a.id if n == 0 else f"{a.id}-{n}", a.provider, a.credential[:-6] + f"{i:06d}",
                                dict(a.limits), dict(a.used), dict(a.rate_per_hour), dict(a.resets), a.fault,
                                a.fault_count, a.latency_ms, dict(a.extra)))
    return Scenario(accounts=accts, start=demo_scenario().start)


def _config_only(root: Path, accounts: int) -> None:
    """This checkout's config for the same accounts (a config that one version wrote may not validate in the
    other); no provider is called by the commands measured, so the emulator's address is kept as it was."""
    import re

    from quotawarden.emulator import write_demo_config

    found = re.search(r'base_url = "([^"]+)"', (root / "config.toml").read_text())
    write_demo_config(_scenario(accounts), found.group(1) if found else "http://127.0.0.1:9", root)


def _fill(root: Path, accounts: int, days: int) -> None:
    from datetime import UTC, datetime, timedelta

    from quotawarden.domain import QuotaSample, Source, Unit
    from quotawarden.emulator import create_app, serve, write_demo_config
    from quotawarden.store import open_store
    from quotawarden.store import samples as samples_q
    from quotawarden.store.rollups import prune

    scenario = _scenario(accounts)
    url = f"sqlite:///{root / 'qw.db'}"
    env = {**os.environ, "QUOTAWARDEN_DB_URL": url, "HOME": str(root), "XDG_CONFIG_HOME": str(root / "xdg"),
           "XDG_DATA_HOME": str(root / "xdg"), "TZ": "UTC", "CLAUDE_CONFIG_DIR": str(root / "claude")}
    with serve(create_app(scenario)) as base_url:
        cfg = write_demo_config(scenario, base_url, root)
        env["QUOTAWARDEN_CONFIG"] = str(cfg)
        qw = [sys.executable, "-m", "quotawarden.interfaces.cli.main"]
        subprocess.run([*qw, "poll"], env=env, capture_output=True, timeout=300)  # exit 1: the bad keys
    store = open_store(url)
    with store.engine.connect() as conn:
        from sqlalchemy import text

        latest = conn.execute(text('SELECT account_id, "window", unit, "limit", window_length_s, source '
                                   "FROM latest_samples")).fetchall()
    now = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    start, step = now - timedelta(days=days), timedelta(minutes=5)
    cutoff = now - timedelta(days=30)
    batch: list[QuotaSample] = []
    t, k = start, 0
    while t <= now:
        for j, (acc, window, unit, limit, length_s, source) in enumerate(latest):
            period = max(int((length_s or 18000) // 300), 12)
            ratio = ((k + 7 * j) % period) / period * 0.9
            batch.append(QuotaSample(t, acc, window, Unit(unit), Source(source), used_ratio=ratio,
                                     used=ratio * limit if limit else None,
                                     remaining=(1 - ratio) * limit if limit else None, limit=limit,
                                     resets_at=t + step * (period - (k + 7 * j) % period)))
        if len(batch) >= 50_000:
            samples_q.write_samples(store, batch)
            batch = []
        older = t < cutoff  # what pruning will roll up into hours anyway: one reading an hour is enough there
        t += step * 12 if older else step
        k += 12 if older else 1
    samples_q.write_samples(store, batch)
    prune(store, cutoff.timestamp())
    store.close()
    # the latest readings must stay the real poll's: re-poll so latest_samples is the emulator's answer again
    with serve(create_app(scenario)) as base_url:
        cfg = write_demo_config(scenario, base_url, root)
        subprocess.run([*qw, "poll", "--force"], env=env, capture_output=True, timeout=300)
    _claude_logs(root / "claude", 20_000, days)
    subprocess.run([*qw, "usage", "daily", "--timezone", "UTC"], env=env, capture_output=True, timeout=600)


def _claude_logs(root: Path, records: int, days: int) -> None:
    """Claude Code transcripts: ``records`` assistant lines with usage over the last ``days`` days."""
    rng = random.Random(7)
    models = ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001"]
    t0 = time.time() - days * 86400
    for f in range(records // 400):
        proj = root / "projects" / f"-home-dev-src-p{f % 12}"
        proj.mkdir(parents=True, exist_ok=True)
        session = f"{f:08d}-0000-4000-8000-{rng.getrandbits(48):012x}"
        ts = t0 + rng.uniform(0, days * 86400 - 40000)
        lines = []
        for _ in range(400):
            ts += rng.uniform(2, 90)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".000Z"
            lines.append(json.dumps({
                "type": "assistant", "sessionId": session, "cwd": "/home/dev/src/p", "timestamp": stamp,
                "requestId": f"req_{rng.getrandbits(80):020x}", "uuid": f"u{rng.getrandbits(64):x}",
                "message": {"id": f"msg_{rng.getrandbits(80):020x}", "role": "assistant",
                            "model": rng.choice(models), "content": [{"type": "text", "text": "x" * 300}],
                            "usage": {"input_tokens": rng.randint(1, 50), "output_tokens": rng.randint(10, 3000),
                                      "cache_creation_input_tokens": rng.randint(0, 3000),
                                      "cache_read_input_tokens": rng.randint(0, 150000)}}},
                separators=(",", ":")) + "\n")
        (proj / f"{session}.jsonl").write_text("".join(lines))


# -- measuring ----------------------------------------------------------------------------------------------------

class Tree:
    """One checkout under test: its ``src`` first on the path, its own copy of the store."""

    def __init__(self, name: str, src: Path, root: Path, bytecode: bool = True) -> None:
        self.name, self.src, self.root = name, src, root
        self.env = {**os.environ, "PYTHONPATH": str(src), "QUOTAWARDEN_DB_URL": f"sqlite:///{root / 'qw.db'}",
                    "QUOTAWARDEN_CONFIG": str(root / "config.toml"), "HOME": str(root),
                    "XDG_CONFIG_HOME": str(root / "xdg"), "XDG_DATA_HOME": str(root / "xdg"), "TZ": "UTC",
                    "CLAUDE_CONFIG_DIR": str(root / "claude"), "COLUMNS": "160"}
        self.env.pop("QUOTAWARDEN_ADMIN_TOKEN", None)
        if bytecode:  # as an installed package runs: byte-code compiled once, kept beside the stores (not the checkout)
            self.env.pop("PYTHONDONTWRITEBYTECODE", None)
            self.env["PYTHONPYCACHEPREFIX"] = str(root.parent / "pycache")
        else:  # every run compiles the checkout's sources from text, as with PYTHONDONTWRITEBYTECODE=1
            self.env["PYTHONDONTWRITEBYTECODE"] = "1"
            self.env.pop("PYTHONPYCACHEPREFIX", None)

    def run(self, args: list[str]) -> tuple[float, bytes]:
        cmd = [sys.executable, "-c", ENTRY_POINT, *args]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=self.env, capture_output=True, timeout=120, cwd=self.root)
        ms = (time.perf_counter() - t0) * 1000
        if done.returncode not in (0, 10, 11):
            raise SystemExit(f"{self.name}: {' '.join(args)} failed ({done.returncode}): "
                             f"{done.stderr.decode()[-800:]}")
        return ms, done.stdout


def fill_tree(src: Path, root: Path, accounts: int, days: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, __file__, "--fill", str(root), "--accounts", str(accounts), "--days",
                    str(days)], env=env, check=True, timeout=3600)


def migrate(src: Path, root: Path, accounts: int) -> None:
    """Bring the copied store to this checkout's schema and write its config for the same accounts."""
    code = "import sys; from quotawarden.store import open_store; open_store(sys.argv[1]).close()"
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", code, f"sqlite:///{root / 'qw.db'}"], env=env, check=True, timeout=600)
    subprocess.run([sys.executable, __file__, "--config-only", str(root), "--accounts", str(accounts)], env=env,
                   check=True, timeout=120)


def copy_store(src_root: Path, dst_root: Path) -> None:
    shutil.copytree(src_root, dst_root, symlinks=True)
    cfg = dst_root / "config.toml"
    cfg.write_text(cfg.read_text().replace(str(src_root), str(dst_root)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=30)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--base", type=Path, help="another checkout to compare with (its src/ is put on the path)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary stores")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="compile the sources from text on every run (PYTHONDONTWRITEBYTECODE=1, no cache written): "
                         "a start-up that grows with the size of the modules imported")
    ap.add_argument("--fill", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--config-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.config_only:
        _config_only(args.config_only, args.accounts)
        return
    if args.fill:
        _fill(args.fill, args.accounts, args.days)
        return
    tmp = Path(tempfile.mkdtemp(prefix="qw-bench-cli-"))
    t0 = time.perf_counter()
    first = args.base or HERE
    fill_tree(first / "src", tmp / "a", args.accounts, args.days)
    bytecode = not args.no_bytecode
    trees = [Tree("this", HERE / "src", tmp / ("b" if args.base else "a"), bytecode)]
    if args.base:
        copy_store(tmp / "a", tmp / "b")
        migrate(HERE / "src", tmp / "b", args.accounts)
        trees.append(Tree("base", args.base / "src", tmp / "a", bytecode))
    import sqlite3

    with sqlite3.connect(tmp / "a" / "qw.db") as db:
        n = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("samples", "sample_rollups", "latest_samples", "usage_events")}
    print(f"store: {args.accounts} accounts, {n['latest_samples']} windows, {n['samples']:,} raw samples, "
          f"{n['sample_rollups']:,} hourly roll-ups, {n['usage_events']:,} usage events; filled in "
          f"{time.perf_counter() - t0:.0f} s")
    for t in trees:  # warm the page cache and byte-code of both alike; check they say the same
        for _, cmd in COMMANDS:
            t.run(cmd)
    if args.base:
        for label, cmd in COMMANDS:
            outs = [t.run(cmd)[1] for t in trees]
            if label.startswith("status") and _norm(outs[0]) != _norm(outs[1]):
                print(f"note: `{label}` says more or otherwise between the two checkouts (features added since the "
                      "base change it; digits aside)")
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        order = trees if r % 2 == 0 else trees[::-1]
        for label, cmd in COMMANDS:
            for t in order:
                times.setdefault((t.name, label), []).append(t.run(cmd)[0])
    py = statistics.median(_timed_floor(trees[0].env, args.rounds))
    print(f"\nmedians of {args.rounds} rounds, whole processes (python -c pass: {py:.0f} ms; "
          f"{'byte-code cached' if bytecode else 'sources compiled on every run'})\n")
    head = f"{'command':<16} {'this ms':>9}"
    if args.base:
        head += f" {'base ms':>9} {'this/base':>10}"
    print(head + "  target")
    for label, _ in COMMANDS:
        this = statistics.median(times[("this", label)])
        line = f"{label:<16} {this:>9.0f}"
        target = f"< {STATUS_TARGET_MS:.0f} ms" if label == "status" else "<= base"
        ok = this < STATUS_TARGET_MS if label == "status" else True
        if args.base:
            base = statistics.median(times[("base", label)])
            line += f" {base:>9.0f} {this / base:>9.2f}x"
            ok = ok and (label == "status" or this <= base * 1.05)
        print(f"{line}  {target} {'ok' if ok else 'OVER'}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"\nstores kept in {tmp}")


def _timed_floor(env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _norm(out: bytes) -> bytes:
    """Outputs minus what moves between two runs a second apart (ages, times to reset, generated_at)."""
    import re

    return re.sub(rb"\d+(\.\d+)?", b"N", out)


if __name__ == "__main__":
    main()
