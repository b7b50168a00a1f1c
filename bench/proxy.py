"""Proxy overhead, side by side in one run against one local upstream: direct, the bare floor, quotawarden, LiteLLM.

    python bench/proxy.py                      # full run: every cell 3 times, interleaved, medians (~4 min;
                                               # LiteLLM is installed into a temporary venv once)
    python bench/proxy.py --requests 300 --rss-requests 10000 --no-litellm --rounds 1   # a quick look
    python bench/proxy.py --no-litellm --rss-requests 0 --without-journal   # the journal off, beside (see also
                                               # bench/proxy_journal.py, the journal's cost alone)
    python bench/proxy.py --no-litellm --rss-requests 0 --baseline 8bdf51e~1  # against an older revision

--baseline REV also runs the quotawarden of git revision REV (its ``src`` only, from ``git archive``) as a second
proxy with its own database, in the same rounds, and reports the paired req/s and CPU ratios of today's proxy to
it. ``8bdf51e~1`` is the last revision before the usage journal and the no-re-send rule (other changes since
count too). --without-journal runs this tree's proxy a second time with its usage journal switched off (a copy
of ``src`` with the switch flipped), so the pair differs by the journal alone.

Each server runs in its own process (one uvicorn worker each); the load generator is this process (aiohttp).
Reports requests/s, p50/p99 latency and time to first body byte, for OpenAI chat completions streamed and not,
at concurrency 1 and 32, then the proxy's RSS growth over --rss-requests requests, then the time of one pool
routing decision (median and p99, 2/5/20 accounts; ``--decisions-only`` for just that).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

HERE = Path(__file__).resolve().parent
PY = sys.executable
LITELLM_VENV = Path(tempfile.gettempdir()) / "qw-bench-litellm"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
RL = [(b"content-type", b"application/json"), (b"x-ratelimit-limit-requests", b"10000"),
      (b"x-ratelimit-remaining-requests", b"9999"), (b"x-ratelimit-reset-requests", b"6ms"),
      (b"x-ratelimit-limit-tokens", b"2000000"), (b"x-ratelimit-remaining-tokens", b"1999000"),
      (b"x-ratelimit-reset-tokens", b"30ms"), (b"x-request-id", b"req_bench")]


# -- the upstream: a fast OpenAI-shaped mock ------------------------------------------------------------------

def upstream_app():  # type: ignore[no-untyped-def]
    usage = {"prompt_tokens": 9, "completion_tokens": 8, "total_tokens": 17}
    plain = orjson.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                          "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there"},
                                       "finish_reason": "stop"}], "usage": usage})
    words = ["Hello", " from", " the", " bench", " upstream", ",", " bye", "."]

    def chunk(delta: dict, finish: str | None = None, with_usage: bool = False) -> bytes:  # type: ignore[type-arg]
        obj = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if with_usage:
            obj["usage"] = None
        return b"data: " + orjson.dumps(obj) + b"\n\n"

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        if scope["path"].endswith("/models") or scope["method"] == "GET":
            data = b'{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","owned_by":"bench"}]}'
            await send({"type": "http.response.start", "status": 200, "headers": RL[:1]})
            await send({"type": "http.response.body", "body": data})
            return
        req = orjson.loads(body) if body else {}
        if not req.get("stream"):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*RL, (b"content-length", str(len(plain)).encode())]})
            await send({"type": "http.response.body", "body": plain})
            return
        inc = bool((req.get("stream_options") or {}).get("include_usage"))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), *RL[1:]]})
        await send({"type": "http.response.body", "body": chunk({"role": "assistant", "content": ""}, None, inc),
                    "more_body": True})
        for w in words:
            await send({"type": "http.response.body", "body": chunk({"content": w}, None, inc), "more_body": True})
        tail = chunk({}, "stop", inc)
        if inc:
            tail += b"data: " + orjson.dumps({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                                              "created": 1, "model": "gpt-4o-mini", "choices": [],
                                              "usage": usage}) + b"\n\n"
        await send({"type": "http.response.body", "body": tail + b"data: [DONE]\n\n"})

    return app


# -- processes ------------------------------------------------------------------------------------------------

def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_up(url: str, timeout: float, headers: dict[str, str] | None = None) -> None:
    import urllib.request

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout}s")


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def write_config(path: Path, db: Path, spill: Path, upstream: str, proxy_extra: str = "") -> Path:
    """One OpenAI account in a pool on the local upstream, with its own SQLite store and spill folder."""
    path.write_text(f"""
[database]
url = "sqlite:///{db}"
[proxy]
spill_dir = "{spill}"
{proxy_extra}
[[accounts]]
id = "bench-openai"
provider = "openai"
credential = "env:BENCH_OPENAI_KEY"
base_url = "{upstream}"
pool = "bench"
[[pools]]
name = "bench"
""")
    return path


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads): robust against a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ensure_litellm() -> Path:
    exe = LITELLM_VENV / "bin" / "litellm"
    if not exe.exists():
        print(f"installing litellm[proxy] into {LITELLM_VENV} (once) ...", flush=True)
        subprocess.run([PY, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
    return exe


# -- load -----------------------------------------------------------------------------------------------------

async def load(url: str, headers: dict[str, str], stream: bool, conc: int, n: int) -> dict[str, float]:
    body = orjson.dumps({**BODY, "stream": stream})
    lat: list[float] = []
    ttfb: list[float] = []
    errors = 0
    sem = asyncio.Semaphore(conc)
    conn = aiohttp.TCPConnector(limit=conc)
    async with aiohttp.ClientSession(connector=conn) as s:
        async def one() -> None:
            nonlocal errors
            async with sem:
                t0 = time.perf_counter()
                try:
                    async with s.post(url, data=body, headers={"content-type": "application/json", **headers}) as r:
                        first = None
                        async for _ in r.content.iter_any():
                            if first is None:
                                first = time.perf_counter()
                        if r.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                    return
                t1 = time.perf_counter()
                lat.append(t1 - t0)
                ttfb.append((first or t1) - t0)

        await asyncio.gather(*(one() for _ in range(min(20, n))))  # warm up connections
        lat.clear()
        ttfb.clear()
        t = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        wall = time.perf_counter() - t
    lat.sort()
    ttfb.sort()
    q = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))] * 1000 if xs else float("nan")  # noqa: E731
    return {"rps": len(lat) / wall, "p50": q(lat, 0.5), "p99": q(lat, 0.99), "ttfb": q(ttfb, 0.5),
            "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000, help="requests per cell at concurrency 32")
    ap.add_argument("--requests-c1", type=int, default=400, help="requests per cell at concurrency 1")
    ap.add_argument("--litellm-requests", type=int, default=150, help="requests per LiteLLM cell (it is slow)")
    ap.add_argument("--rss-requests", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3,
                    help="run every cell this many times, interleaved, and report the medians (the machine is noisy)")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--baseline", metavar="REV", help="also run quotawarden at this git revision, side by side")
    ap.add_argument("--without-journal", action="store_true",
                    help="also run this tree's quotawarden with its usage journal off, side by side")
    ap.add_argument("--decisions", type=int, default=20_000,
                    help="pool routing decisions timed per pool size (2, 5, 20 accounts); 0 skips")
    ap.add_argument("--decisions-only", action="store_true", help="only time the pool routing decision")
    ap.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.decisions_only:
        print_decisions(a.decisions or 20_000)
        return
    if a.serve_upstream:
        import uvicorn

        uvicorn.run(upstream_app(), host="127.0.0.1", port=a.serve_upstream, loop="uvloop", http="httptools",
                    log_level="warning", access_log=False)
        return

    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="qw-bench-proxy-"))
    try:
        up_port = free_port()
        procs.append(start([PY, __file__, "--serve-upstream", str(up_port)]))
        upstream = f"http://127.0.0.1:{up_port}"
        wait_up(upstream + "/v1/models", 20)

        floor_port = free_port()
        procs.append(start([PY, str(HERE / "proxy_floor.py"), "--port", str(floor_port), "--upstream", upstream]))

        qw_port = free_port()
        write_config(tmp / "config.toml", tmp / "qw.db", tmp / "spill", upstream)
        qw = start([str(Path(PY).parent / "quotawarden"), "--config", str(tmp / "config.toml"), "proxy",
                    "--port", str(qw_port)], env={"BENCH_OPENAI_KEY": "sk-bench-upstream-key-0000"})
        procs.append(qw)
        base_proc = None
        base_name = f"quotawarden@{a.baseline}" if a.baseline else "quotawarden, no journal"
        if a.baseline or a.without_journal:
            base_proc, base_port = start_baseline(a.baseline, tmp, upstream)
            procs.append(base_proc)

        targets: list[tuple[str, str, dict[str, str]]] = [
            ("direct", f"{upstream}/v1/chat/completions", {"authorization": "Bearer sk-x"}),
            ("floor (uvicorn+aiohttp)", f"http://127.0.0.1:{floor_port}/v1/chat/completions",
             {"authorization": "Bearer sk-x"}),
            ("quotawarden", f"http://127.0.0.1:{qw_port}/bench/v1/chat/completions", {"authorization": "Bearer any"}),
        ]
        wait_up(f"http://127.0.0.1:{floor_port}/v1/models", 20)
        wait_up(f"http://127.0.0.1:{qw_port}/_quotawarden/health", 30)
        if base_proc is not None:
            wait_up(f"http://127.0.0.1:{base_port}/_quotawarden/health", 30)
            targets.append((base_name, f"http://127.0.0.1:{base_port}/bench/v1/chat/completions",
                            {"authorization": "Bearer any"}))
        if not a.no_litellm:
            exe = ensure_litellm()
            lport = free_port()
            (tmp / "litellm.yaml").write_text(f"""model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: {upstream}/v1
      api_key: sk-x
general_settings:
  master_key: sk-bench-master
litellm_settings:
  telemetry: false
""")
            procs.append(start([str(exe), "--config", str(tmp / "litellm.yaml"), "--port", str(lport),
                                "--num_workers", "1"], env={"LITELLM_TELEMETRY": "False"}))
            wait_up(f"http://127.0.0.1:{lport}/health/liveliness", 120)
            targets.append(("LiteLLM proxy", f"http://127.0.0.1:{lport}/v1/chat/completions",
                            {"authorization": "Bearer sk-bench-master"}))

        runs: dict[tuple[str, bool, int], list[dict[str, float]]] = {}
        pids = {targets[1][0]: procs[1].pid, targets[2][0]: qw.pid}  # the single-process servers
        if base_proc is not None:
            pids[base_name] = base_proc.pid
        for _ in range(a.rounds):
            for stream in (False, True):
                for conc in (1, 32):
                    for name, url, hdrs in targets:
                        n = a.requests if conc == 32 else a.requests_c1
                        if name.startswith("LiteLLM"):
                            n = a.litellm_requests
                        pid = pids.get(name)
                        before = cpu_s(pid) if pid else 0.0
                        r = asyncio.run(load(url, hdrs, stream, conc, n))
                        r["cpu_us"] = (cpu_s(pid) - before) * 1e6 / (n + min(20, n)) if pid else float("nan")
                        runs.setdefault((name, stream, conc), []).append(r)
                        print(f"  {name:<24} {'stream' if stream else 'plain ':<7} c={conc:<3} "
                              f"{r['rps']:8.0f} req/s  p50 {r['p50']:7.2f} ms  p99 {r['p99']:8.2f} ms  "
                              f"ttfb {r['ttfb']:7.2f} ms  errors {r['errors']}", flush=True)
        rows = [(name, stream, conc, {k: statistics.median(r[k] for r in rs) for k in rs[0]})
                for (name, stream, conc), rs in runs.items()]
        if a.rounds > 1:
            print(f"\nmedians of {a.rounds} interleaved rounds")
        print_table(rows, runs)
        if base_proc is not None:
            print_baseline(runs, base_name)

        if a.rss_requests:
            before = rss_mb(qw.pid)
            done = 0
            while done < a.rss_requests:
                step = min(20_000, a.rss_requests - done)
                asyncio.run(load(targets[2][1], targets[2][2], False, 32, step))
                done += step
            after = rss_mb(qw.pid)
            print(f"\nquotawarden RSS over {a.rss_requests:,} requests: {before:.1f} MB -> {after:.1f} MB "
                  f"(growth {after - before:+.1f} MB; target < 20 MB)")
        if a.decisions:
            print_decisions(a.decisions)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def print_decisions(n: int) -> None:
    """Time one pool routing decision as the proxy makes it per request: ``PoolState.usable`` (blocked and paused
    accounts out) with the service's ranker (the planner under the pool's strategy, pacing and hysteresis), over
    Claude accounts with 5h and 7d readings of varied use and resets that move a little every call."""
    import random
    from datetime import UTC, datetime, timedelta

    from quotawarden.analysis.health import Policy
    from quotawarden.app.proxy import RotationRanker
    from quotawarden.domain import QuotaSample, Source, Unit
    from quotawarden.sources.proxy.model import PoolDef, Upstream
    from quotawarden.sources.proxy.pools import PoolState

    rng = random.Random(7)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    print(f"\npool routing decision, {n:,} per row (PoolState.usable: the planner, pacing, hysteresis)")
    print("| | strategy | accounts | CPU median us | CPU p99 us | wall median us | wall p99 us |")
    print("|---|---|---|---|---|---|---|")
    for strategy, pacing in (("drain_soonest", True), ("headroom", False)):
        for size in (2, 5, 20):
            ids = [f"acct-{i:02d}" for i in range(size)]
            pool = PoolDef("team", tuple(ids), strategy=strategy, pacing=pacing)
            ranker = RotationRanker(dict.fromkeys(ids, "claude"), Policy(), {"claude": "subscription"})
            state = PoolState(ranker, [pool])
            members = [Upstream(i, "claude", "http://127.0.0.1:1", "sk-ant-oat01-bench") for i in ids]
            times, cpu = [], []
            for k in range(n):
                i = ids[k % size]  # one answer's readings per decision, as the proxy sees them
                state.observe(i, [QuotaSample(now, i, w, Unit.PERCENT, Source.PROXY, used_ratio=rng.random() * 0.7,
                                              resets_at=now + timedelta(hours=h * rng.uniform(0.2, 1.0)),
                                              window_length_s=int(h * 3600))
                                  for w, h in (("5h", 5), ("7d", 168))])
                t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                state.usable(members, now, "team")
                cpu.append(time.thread_time_ns() - c0)
                times.append(time.perf_counter_ns() - t0)
            times.sort()
            cpu.sort()
            print(f"| | {strategy}{' + pacing' if pacing else ''} | {size} | {cpu[len(cpu) // 2] / 1e3:.1f} | "
                  f"{cpu[int(len(cpu) * 0.99)] / 1e3:.1f} | {times[len(times) // 2] / 1e3:.1f} | "
                  f"{times[int(len(times) * 0.99)] / 1e3:.1f} |")
    print(f"target: under 1 ms (1000 us) per decision; wall p99 includes the machine's preemption "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def start_baseline(rev: str | None, tmp: Path, upstream: str) -> tuple[subprocess.Popen[bytes], int]:
    """quotawarden as of git revision ``rev`` (its src tree on PYTHONPATH), or (``rev`` None) this tree's with the
    usage journal switched off; with its own database and spill folder."""
    src = tmp / "baseline"
    src.mkdir()
    if rev:
        archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    else:
        shutil.copytree(HERE.parent / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__"))
        queue = src / "src" / "quotawarden" / "sources" / "proxy" / "queue.py"
        text = queue.read_text()
        switch = "                self._journal_open = True\n"
        assert text.count(switch) == 1, "the journal switch moved: update bench/proxy.py"
        queue.write_text(text.replace(switch, switch.replace("True", "False")))
    text = (tmp / "config.toml").read_text().replace("qw.db", "qw-baseline.db")
    text = text.replace(str(tmp / "spill"), str(tmp / "spill-baseline"))
    (tmp / "baseline.toml").write_text(text)
    port = free_port()
    proc = start([PY, "-c", "import sys; from quotawarden.interfaces.cli.main import main; main(sys.argv[1:])",
                  "--config", str(tmp / "baseline.toml"), "proxy", "--port", str(port)],
                 env={"BENCH_OPENAI_KEY": "sk-bench-upstream-key-0000", "PYTHONPATH": str(src / "src")})
    return proc, port


def print_baseline(runs: dict[tuple[str, bool, int], list[dict[str, float]]], base: str) -> None:
    """Today's quotawarden against the baseline revision: medians of the per-round ratios (paired cells)."""
    print(f"\n| quotawarden vs {base} | mode | c | req/s ratio (median of rounds) | per round | CPU/req ratio |")
    print("|---|---|---|---|---|---|")
    for (name, stream, conc), mine in runs.items():
        if name != "quotawarden":
            continue
        theirs = runs.get((base, stream, conc))
        if not theirs:
            continue
        ratios = [m["rps"] / t["rps"] for m, t in zip(mine, theirs, strict=False)]
        cpu = statistics.median(m["cpu_us"] / t["cpu_us"] for m, t in zip(mine, theirs, strict=False))
        print(f"| | {'stream' if stream else 'plain'} | {conc} | {statistics.median(ratios):.1%} | "
              f"{', '.join(f'{r:.0%}' for r in ratios)} | {cpu:.2f}x |")


def print_table(rows: list[tuple[str, bool, int, dict[str, float]]],
                runs: dict[tuple[str, bool, int], list[dict[str, float]]]) -> None:
    """Medians per cell; "vs floor" and "vs LiteLLM" are medians of the ratios of cells run back to back
    (paired, so a slow moment of the machine hits both sides); "CPU/req" is the server's own CPU time."""
    def paired(name: str, other: str, stream: bool, conc: int) -> float | None:
        mine = runs.get((name, stream, conc))
        theirs = next((v for (n, s, c), v in runs.items() if n.startswith(other) and (s, c) == (stream, conc)), None)
        if not mine or not theirs:
            return None
        return statistics.median(a["rps"] / b["rps"] for a, b in zip(mine, theirs, strict=False))

    direct = {(s, c): r for n, s, c, r in rows if n == "direct"}
    print("\n| target | mode | c | req/s | p50 ms | p99 ms | TTFB p50 ms | added p50 | added TTFB | CPU/req us "
          "| vs floor | vs LiteLLM |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, stream, conc, r in rows:
        d = direct[(stream, conc)]
        f, lt = paired(name, "floor", stream, conc), paired(name, "LiteLLM", stream, conc)
        cpu = "-" if r["cpu_us"] != r["cpu_us"] else f"{r['cpu_us']:.0f}"
        print(f"| {name} | {'stream' if stream else 'plain'} | {conc} | {r['rps']:.0f} | {r['p50']:.2f} | "
              f"{r['p99']:.2f} | {r['ttfb']:.2f} | {r['p50'] - d['p50']:+.2f} | {r['ttfb'] - d['ttfb']:+.2f} | "
              f"{cpu} | {f'{f:.0%}' if f else '-'} | {f'{lt:.1f}x' if lt else '-'} |")


if __name__ == "__main__":
    main()
