"""The status endpoints under load from a second process over loopback, with 1,000 accounts in the store.

    python bench/api.py [--accounts 1000] [--instances 100] [--seconds 5] [--rounds 3] [--concurrency 32]
                        [--client wrk|python] [--db URL] [--serve PORT]

The API runs as ``quotawarden serve`` runs it (uvicorn, one worker, uvloop + httptools, access log off, log level
warning) in a child process. The store holds ``--accounts`` accounts, each with two windows and
``--history`` samples per window; ``--instances`` agent instances are registered (two providers each, their own
keys), and every request goes round-robin over them, so the key lookups and status caches see many callers.

The load comes from a separate process: ``wrk`` (Debian package ``wrk``) when it is on PATH, else a small
asyncio HTTP/1.1 keep-alive client. Each endpoint is driven for ``--seconds``, ``--rounds`` times in alternation;
the table shows medians over the rounds. Targets (the agents' endpoints, instance keys): >= 1,000 req/s and
p99 < 50 ms. For comparison: the admin's requests, the same answer through the routers (the admin token in
``X-Admin-Token`` is not answered at the door, see ``interfaces/api/hotpath.py``), and the admin's
``GET /v1/status``, which answers every account (a large body).
``--serve PORT`` only builds the store and serves it (for a profiler).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ADMIN = "qwa_bench-admin-token"
PROVIDERS = ("deepseek", "zai")
LUA = r"""
local reqs, i = {}, 0
init = function(args)
  for line in io.lines(args[1]) do
    local path, name, value = line:match("(%S+) (%S+) (.+)")
    reqs[#reqs + 1] = wrk.format("GET", path, {[name] = value})
  end
end
request = function() i = i % #reqs + 1; return reqs[i] end
done = function(s, lat, _)
  local e = s.errors
  io.write(string.format('RESULT {"n": %d, "us": %d, "p50": %d, "p90": %d, "p99": %d, "max": %d, "bad": %d}\n',
    s.requests, s.duration, lat:percentile(50), lat:percentile(90), lat:percentile(99), lat.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def build_store(db: str, tmp: str, n_accounts: int, n_instances: int, history: int) -> tuple[object, list[str]]:
    """A service over a store with ``n_accounts`` accounts (two per instance, the rest configured) and samples.

    Returns the service and one ``instance_id key`` line per instance."""
    from quotawarden.app import instances
    from quotawarden.app.service import Service
    from quotawarden.config import from_text
    from quotawarden.domain import Account, QuotaSample, Source, Unit
    from quotawarden.plugins import load_plugins
    from quotawarden.store import accounts as accounts_q
    from quotawarden.store import samples as samples_q

    plugins = load_plugins()
    svc = Service(config=from_text(f'[server]\nkey_file = "{tmp}/k"\n', None, plugins), plugins=plugins,
                  store_url=db)
    lines = []
    for i in range(n_instances):
        auth = {"opencode_auth": {p: {"key": f"sk-bench{p}{i:06d}0123456789abcdef"} for p in PROVIDERS}}
        inst, key = instances.register(svc, project_name=f"bench-{i}", framework=("claude", "opencode")[i % 2],
                                       poll_interval=300, auth=auth, provider_config={}, hard_caps={})
        lines.append(f"{inst.id} {key}")
    rest = max(n_accounts - len(PROVIDERS) * n_instances, 0)
    accounts_q.upsert_accounts(svc.store, [Account(id=f"acct-{i:04d}", provider="anthropic") for i in range(rest)])
    now = datetime.now(UTC)
    samples_q.write_samples(svc.store, [
        QuotaSample(now - timedelta(minutes=30 * m), acc.id, w, Unit.TOKENS, Source.PROBE,
                    used=1000.0 * (n % 90 + history - m), limit=100_000.0 * (1 + k),
                    resets_at=now + timedelta(hours=2 + k))
        for n, acc in enumerate(accounts_q.list_accounts(svc.store))
        for k, w in enumerate(("5h", "weekly")) for m in range(history)])
    return svc, lines


def _server(db: str, port: int, tmp: str, ready: mp.Event, args: argparse.Namespace) -> None:  # type: ignore[valid-type]
    import uvicorn

    from quotawarden.interfaces.api import create_app

    svc, lines = build_store(db, tmp, args.accounts, args.instances, args.history)
    app = create_app(svc, admin_token=ADMIN, freeze_heap=True)  # type: ignore[arg-type]
    Path(tmp, "instances").write_text("\n".join(lines))
    ready.set()
    # the settings of `quotawarden serve` (interfaces/daemon/serve.py: frozen heap, no access log, uvicorn's
    # "auto" event loop and parser are uvloop and httptools when installed, spelled out here)
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False)


# -- load ---------------------------------------------------------------------------------------------------


def run_wrk(port: int, targets: Path, seconds: float, concurrency: int, tmp: str) -> dict[str, float]:
    script = Path(tmp, "rotate.lua")
    script.write_text(LUA)
    out = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                          "-s", str(script), f"http://127.0.0.1:{port}", "--", str(targets)],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out.split("RESULT ", 1)[1])
    return {"n": r["n"], "rps": r["n"] / (r["us"] / 1e6), "p50": r["p50"] / 1e3, "p90": r["p90"] / 1e3,
            "p99": r["p99"] / 1e3, "max": r["max"] / 1e3, "bad": r["bad"]}


class _Conn(asyncio.Protocol):
    """One keep-alive connection: send a request, read headers and Content-Length bytes, repeat."""

    def __init__(self, reqs: list[bytes], stop: float, lat: list[float], done: asyncio.Future[int]) -> None:
        self.reqs, self.stop, self.lat, self.done = reqs, stop, lat, done
        self.i, self.buf, self.bad = 0, b"", 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.tr = transport
        self._send()

    def _send(self) -> None:
        self.i = (self.i + 1) % len(self.reqs)
        self.t0 = time.perf_counter()
        self.tr.write(self.reqs[self.i])  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        head, sep, body = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        if len(body) < length:
            return
        self.buf = body[length:]
        self.lat.append(time.perf_counter() - self.t0)
        self.bad += not head.startswith(b"HTTP/1.1 200")
        if time.perf_counter() < self.stop:
            self._send()
        else:
            self.tr.close()
            self.done.set_result(self.bad)


async def _python_load(port: int, reqs: list[bytes], seconds: float, concurrency: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    lat: list[float] = []
    t0 = time.perf_counter()
    dones = []
    for c in range(concurrency):
        done: asyncio.Future[int] = loop.create_future()
        rotated = reqs[c % len(reqs):] + reqs[:c % len(reqs)]
        await loop.create_connection(lambda r=rotated, d=done: _Conn(r, t0 + seconds, lat, d), "127.0.0.1", port)  # type: ignore[misc]
        dones.append(done)
    bad = sum(await asyncio.gather(*dones))
    took = time.perf_counter() - t0
    lat.sort()
    q = statistics.quantiles(lat, n=100)
    return {"n": len(lat), "rps": len(lat) / took, "p50": q[49] * 1e3, "p90": q[89] * 1e3, "p99": q[98] * 1e3,
            "max": lat[-1] * 1e3, "bad": bad}


def _python_client(port: int, targets: str, seconds: float, concurrency: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    reqs = []
    for line in Path(targets).read_text().splitlines():
        path, name, value = line.split(" ", 2)
        reqs.append(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{name}: {value}\r\n\r\n".encode())
    out.put(asyncio.run(_python_load(port, reqs, seconds, concurrency)))


def run_python(port: int, targets: Path, seconds: float, concurrency: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    p = ctx.Process(target=_python_client, args=(port, str(targets), seconds, concurrency, out))
    p.start()
    result: dict[str, float] = out.get(timeout=seconds + 120)
    p.join()
    return result


# -- main ---------------------------------------------------------------------------------------------------


def _wait_up(port: int) -> None:
    import httpx

    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the API did not come up")


def _touch(port: int, targets: Path) -> None:
    """One request first: after the previous endpoint's run the board may be older than it may be served (the
    first request after an idle spell waits for a rebuild); the table is about the steady state."""
    import httpx

    path, name, value = targets.read_text().splitlines()[0].split(" ", 2)
    httpx.get(f"http://127.0.0.1:{port}{path}", headers={name: value}, timeout=30).raise_for_status()


def targets(tmp: str, lines: list[str]) -> dict[str, Path]:
    pairs = [line.split() for line in lines]
    files = {
        "GET /v1/status/{id} (instance key)": [f"/v1/status/{i} X-API-Key {k}" for i, k in pairs],
        "GET /v1/status (instance key)": [f"/v1/status X-API-Key {k}" for _, k in pairs],
        "GET /v1/status/{id} (admin)": [f"/v1/status/{i} Authorization Bearer {ADMIN}" for i, _ in pairs],
        "GET /v1/status/{id} (routed, no door)": [f"/v1/status/{i} X-Admin-Token {ADMIN}" for i, _ in pairs],
        "GET /v1/status (admin, all accounts)": [f"/v1/status Authorization Bearer {ADMIN}"],
    }
    out = {}
    for n, (name, rows) in enumerate(files.items()):
        out[name] = Path(tmp, f"targets-{n}.txt")
        out[name].write_text("\n".join(rows) + "\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--instances", type=int, default=100)
    ap.add_argument("--history", type=int, default=12, help="samples per window and account (30 min apart)")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--serve", type=int, default=0, metavar="PORT", help="only build the store and serve it")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="qw-bench-api-")
    db = args.db or f"sqlite:///{tmp}/bench.db"
    port = args.serve
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    server = ctx.Process(target=_server, args=(db, port, tmp, ready, args), daemon=True)
    server.start()
    if not ready.wait(600):
        raise SystemExit("building the store took too long")
    _wait_up(port)
    files = targets(tmp, Path(tmp, "instances").read_text().splitlines())
    if args.serve:
        print(f"serving on http://127.0.0.1:{port}; wrk targets in {tmp}; Ctrl-C stops")
        server.join()
        return
    results: dict[str, list[dict[str, float]]] = {name: [] for name in files}
    for rnd in range(-1, args.rounds):  # round -1 warms every cache and the interpreter, and is not counted
        for name, path in files.items():
            secs = 1.0 if rnd < 0 else args.seconds
            _touch(port, path)
            if args.client == "wrk":
                r = run_wrk(port, path, secs, args.concurrency, tmp)
            else:
                r = run_python(port, path, secs, args.concurrency)
            if rnd >= 0:
                results[name].append(r)
            time.sleep(1.0)  # let a rebuild the last requests started finish outside the next measurement
    server.terminate()
    print(f"accounts={args.accounts}  instances={args.instances} (round-robin keys)  db={db.split(':')[0]}  "
          f"concurrency={args.concurrency}  client={args.client} (second process)  "
          f"{args.rounds} x {args.seconds:.0f}s, medians")
    print(f"{'endpoint':<38} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} {'non-200':>7}"
          "  target")
    for name, rs in results.items():
        m = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p90", "p99", "max", "bad")}
        verdict = "-" if "(admin" in name or "routed" in name else (
            "met" if m["rps"] >= 1000 and m["p99"] < 50 else "MISSED")
        print(f"{name:<38} {m['rps']:>7.0f} {m['p50']:>7.2f} {m['p90']:>7.2f} {m['p99']:>7.2f} {m['max']:>7.1f} "
              f"{m['bad']:>7.0f}  {verdict}")
    print("targets (instance keys): >= 1000 req/s and p99 < 50 ms; 2 cores shared with other work: noisy")


if __name__ == "__main__":
    main()
