"""Load on ``GET /v1/status/{id}`` from a second process over loopback, with 1,000 accounts in the store.

    python bench/api.py [--accounts 1000] [--seconds 10] [--concurrency 32] [--db URL]

Starts ``quotawarden serve``-equivalent API (uvicorn, one worker) in this process's child, drives it from a
separate load process (httpx, HTTP/1.1 keep-alive), prints requests/s and latency percentiles. Targets:
>= 1,000 req/s and p99 < 50 ms. The machine is shared: quote medians of several runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _server(db: str, port: int, tmp: str, ready: mp.Event, accounts: int) -> None:  # type: ignore[valid-type]
    import uvicorn

    from quotawarden import instances
    from quotawarden.config import from_text
    from quotawarden.domain import Account, QuotaSample, Source, Unit
    from quotawarden.interfaces.api import create_app
    from quotawarden.plugins import load_plugins
    from quotawarden.service import Service
    from quotawarden.store import accounts as accounts_q
    from quotawarden.store import samples as samples_q

    plugins = load_plugins()
    svc = Service(config=from_text(f'[server]\nkey_file = "{tmp}/k"\n', None, plugins), plugins=plugins,
                  store_url=db)
    now = datetime.now(UTC)
    accs = [Account(id=f"acct-{i:04d}", provider="anthropic") for i in range(accounts)]
    accounts_q.upsert_accounts(svc.store, accs)
    samples_q.write_samples(svc.store, [
        QuotaSample(now - timedelta(minutes=m), a.id, w, Unit.TOKENS, Source.PROBE, used=1000.0 * (i % 90 + m),
                    limit=100_000.0, resets_at=now + timedelta(hours=2))
        for i, a in enumerate(accs) for w in ("tokens", "requests") for m in (0, 30, 60)])
    inst, key = instances.register(svc, project_name="bench", framework="claude", poll_interval=300,
                                   auth={"opencode_auth": {"deepseek": {"key": "sk-benchdeepseek0123456789abcdef"}}},
                                   provider_config={}, hard_caps={})
    app = create_app(svc, admin_token="bench-admin")
    Path(tmp, "instance").write_text(f"{inst.id} {key}")
    ready.set()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _load(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> tuple[int, list[float]]:
    import httpx

    lat: list[float] = []
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(headers=headers, limits=httpx.Limits(max_connections=concurrency)) as c:
        async def worker() -> None:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = await c.get(url)
                lat.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(lat), lat


def _client(url: str, key: str, seconds: float, concurrency: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    asyncio.run(_load(url, {"X-API-Key": key}, 1.0, concurrency))  # warm-up
    n, lat = asyncio.run(_load(url, {"X-API-Key": key}, seconds, concurrency))
    out.put((n, lat))


def _wait_up(url: str) -> None:
    import httpx

    for _ in range(600):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"the API did not come up at {url}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="qw-bench-api-")
    db = args.db or f"sqlite:///{tmp}/bench.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    server = ctx.Process(target=_server, args=(db, port, tmp, ready, args.accounts), daemon=True)
    server.start()
    ready.wait(120)
    iid, key = Path(tmp, "instance").read_text().split()
    _wait_up(f"http://127.0.0.1:{port}/v1/health")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    client = ctx.Process(target=_client, args=(f"http://127.0.0.1:{port}/v1/status/{iid}", key, args.seconds,
                                               args.concurrency, out))
    client.start()
    n, lat = out.get(timeout=args.seconds + 120)
    client.join()
    server.terminate()
    lat.sort()
    q = statistics.quantiles(lat, n=100)
    print(f"GET /v1/status/{{id}}  accounts={args.accounts}  db={db.split(':')[0]}  "
          f"concurrency={args.concurrency}  {args.seconds:.0f}s, load from a second process")
    print(f"{'requests':>10} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(f"{n:>10} {n / args.seconds:>8.0f} {q[49] * 1000:>8.2f} {q[89] * 1000:>8.2f} {q[98] * 1000:>8.2f} "
          f"{lat[-1] * 1000:>8.2f}")
    print("targets: >= 1000 req/s, p99 < 50 ms (2 shared cores: numbers are noisy)")


if __name__ == "__main__":
    main()
