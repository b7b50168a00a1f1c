"""The usage journal's cost end to end: this proxy with its journal (default, and with group commit) against the
same proxy with the journal switched off, side by side in one run, on one local upstream.

    python bench/proxy_journal.py [--rounds 15] [--requests 2000] [--concurrency 32]

Three ``quotawarden proxy`` processes, each with its own SQLite store and spill folder:

- ``journal``: as shipped (every usage record written to the journal before its answer ends; no ``fdatasync``
  while batches reach the store);
- ``journal + group commit``: ``[proxy] journal_sync = "50ms"``;
- ``no journal``: a copy of this tree's ``src`` with the journal's switch flipped off (the pair differs by the
  journal alone).

Each round runs one cell of ``--requests`` OpenAI chat completions at ``--concurrency`` on each proxy, plain and
streamed, in an order that rotates every round (a burst of load on a shared machine hits every proxy alike). Per
cell: requests per second, the proxy's own CPU per request (all its threads, from ``/proc/<pid>/stat``) and the
whole machine's busy CPU per request (``/proc/stat``: kernel writeback and the file system's journal included, which
a process's own CPU time does not show). The table gives medians over rounds and, against ``no journal``, the
median of the per-round ratios with their interquartile range. Target: within 5% of the journal-less proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from proxy import PY, cpu_s, free_port, load, start, start_baseline, wait_up, write_config

HERE = Path(__file__).resolve().parent
KEY_ENV = {"BENCH_OPENAI_KEY": "sk-bench-upstream-key-0000"}
NO_JOURNAL = "no journal"


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine so far (every state but idle and iowait)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def config(tmp: Path, name: str, upstream: str, extra: str = "") -> Path:
    return write_config(tmp / f"{name}.toml", tmp / f"{name}.db", tmp / f"spill-{name}", upstream, extra)


def quartiles(xs: list[float]) -> tuple[float, float]:
    if len(xs) < 4:
        return min(xs), max(xs)
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--requests", type=int, default=2000, help="requests per cell")
    ap.add_argument("--concurrency", type=int, default=32)
    a = ap.parse_args()

    procs = []
    tmp = Path(tempfile.mkdtemp(prefix="qw-bench-journal-"))
    try:
        up_port = free_port()
        procs.append(start([PY, str(HERE / "proxy.py"), "--serve-upstream", str(up_port)]))
        upstream = f"http://127.0.0.1:{up_port}"
        wait_up(upstream + "/v1/models", 20)
        exe = str(Path(PY).parent / "quotawarden")
        targets: dict[str, tuple[int, int]] = {}
        for name, extra in (("journal", ""), ("journal + group commit", 'journal_sync = "50ms"')):
            port = free_port()
            cfg = config(tmp, name.replace(" ", "").replace("+", "-"), upstream, extra)
            proc = start([exe, "--config", str(cfg), "proxy", "--port", str(port)], env=KEY_ENV)
            procs.append(proc)
            targets[name] = (port, proc.pid)
        # the journal-less copy (bench/proxy.py's switch), configured like "journal"
        config(tmp, "qw", upstream).rename(tmp / "config.toml")  # start_baseline renames its db and spill folder
        base_proc, base_port = start_baseline(None, tmp, upstream)
        procs.append(base_proc)
        targets[NO_JOURNAL] = (base_port, base_proc.pid)
        for port, _ in targets.values():
            wait_up(f"http://127.0.0.1:{port}/_quotawarden/health", 30)

        names = list(targets)
        runs: dict[tuple[str, bool], list[dict[str, float]]] = {}
        print(f"{a.rounds} rounds of {a.requests} requests per cell at c={a.concurrency}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start", flush=True)
        for rnd in range(a.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for stream in (False, True):
                for name in order:
                    port, pid = targets[name]
                    url = f"http://127.0.0.1:{port}/bench/v1/chat/completions"
                    c0, m0 = cpu_s(pid), machine_busy_s()
                    r = asyncio.run(load(url, {"authorization": "Bearer any"}, stream, a.concurrency, a.requests))
                    done = a.requests + min(20, a.requests)
                    r["cpu_us"] = (cpu_s(pid) - c0) * 1e6 / done
                    r["machine_us"] = (machine_busy_s() - m0) * 1e6 / done
                    runs.setdefault((name, stream), []).append(r)
                    if r["errors"]:
                        print(f"  round {rnd + 1}: {name} had {r['errors']:.0f} errors", flush=True)
            print(f"  round {rnd + 1}/{a.rounds} done (load average {os.getloadavg()[0]:.1f})", flush=True)
        report(runs, names, a.rounds)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except Exception:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def report(runs: dict[tuple[str, bool], list[dict[str, float]]], names: list[str], rounds: int) -> None:
    print(f"\nmedians of {rounds} rounds")
    print("| proxy | mode | req/s | p50 ms | proxy CPU/req us | machine CPU/req us |")
    print("|---|---|---|---|---|---|")
    for (name, stream), rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "cpu_us", "machine_us")}
        print(f"| {name} | {'stream' if stream else 'plain'} | {med['rps']:.0f} | {med['p50']:.2f} | "
              f"{med['cpu_us']:.0f} | {med['machine_us']:.0f} |")
    print(f"\nagainst '{NO_JOURNAL}': median of the per-round ratios [interquartile range]")
    print("| proxy | mode | req/s | proxy CPU/req | machine CPU/req |")
    print("|---|---|---|---|---|")
    for name in names:
        if name == NO_JOURNAL:
            continue
        for stream in (False, True):
            mine, base = runs[(name, stream)], runs[(NO_JOURNAL, stream)]
            cells = []
            for key in ("rps", "cpu_us", "machine_us"):
                ratios = [m[key] / b[key] for m, b in zip(mine, base, strict=True) if b[key] > 0]
                lo, hi = quartiles(ratios)
                cells.append(f"{statistics.median(ratios):.1%} [{lo:.0%}-{hi:.0%}]")
            print(f"| {name} | {'stream' if stream else 'plain'} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
