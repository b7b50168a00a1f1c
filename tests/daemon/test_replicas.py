"""Three ``serve`` processes on one PostgreSQL, 100 accounts, 3 intervals: each account is polled exactly 3
times (counted from the samples the polls stored, not from our slot bookkeeping), no alert is opened twice,
and killing one replica mid-way loses nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from quotawarden.emulator import Scenario, create_app, serve
from quotawarden.emulator.scenario import EmuAccount, write_demo_config
from quotawarden.store import open_store, schema
from tests.conftest import PG_URL, pg_schema_url

INTERVAL = 6.0
N = 100
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _sink(into: list[dict[str, Any]]) -> Iterator[str]:
    """A real webhook receiver on loopback: every alert notice the replicas send lands in ``into``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            into.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _first_slot(db: str, n: int, deadline: float) -> float:
    from quotawarden.store.schema_daemon import poll_slots

    while time.time() < deadline:
        store = open_store(db, migrate=False)
        try:
            with store.engine.connect() as conn:
                rows = conn.execute(select(poll_slots.c.slot_ts)).fetchall()
        finally:
            store.close()
        if len(rows) == n:
            return min(r[0] for r in rows)
        time.sleep(0.05)
    raise AssertionError("the replicas never laid the poll slots")


def _clusters(times: list[float], gap: float = 0.3) -> int:
    """Polls of one account: samples closer than ``gap`` seconds belong to one poll (a poll stamps one time)."""
    times = sorted(times)
    return sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] > gap)


@pytest.mark.skipif(not PG_URL, reason="QUOTAWARDEN_TEST_PG_URL is not set: PostgreSQL cases skipped")
def test_three_replicas_poll_each_account_once_per_interval(tmp_path: Path) -> None:
    assert PG_URL
    gen = pg_schema_url(PG_URL)
    db = next(gen)
    scenario = Scenario(accounts=[EmuAccount(f"acct-{i:03d}", "anthropic", f"sk-ant-api03-replica{i:04d}{'x' * 30}",
                                             {"requests": 1000, "tokens": 2_000_000},
                                             {"requests": 100 + i * 9, "tokens": 900_000 + i * 11_000})
                                  for i in range(N)])
    app = create_app(scenario)
    procs: list[subprocess.Popen[bytes]] = []
    hooks: list[dict[str, Any]] = []
    try:
        with serve(app) as emu, _sink(hooks) as sink:
            cfg = write_demo_config(scenario, emu, tmp_path, db_url=db)
            cfg.write_text(cfg.read_text() + f'\n[schedule]\npoll_interval = {INTERVAL}\nmin_poll_interval = 1\n'
                           f'\n[server]\npoll_lease = 4.0\nalerts_lease = 3.0\nkey_file = "{tmp_path / "k"}"\n'
                           f'\n[alerts]\nchannels = [{{ url = "json://{sink}/hook", hmac_secret = "env:QW_HOOK", '
                           'severities = ["info", "warning", "critical"] }]\n')
            open_store(db).close()  # migrate once, before the replicas race to it
            env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
                   "QW_HOOK": "whsec-replicas-0123456789"}
            ports = [_port() for _ in range(3)]
            for i, p in enumerate(ports):
                log = open(tmp_path / f"replica-{i}.log", "wb")  # noqa: SIM115 - a file, not a pipe that can fill
                procs.append(subprocess.Popen([sys.executable, "-m", "quotawarden.interfaces.cli.main", "-c", str(cfg),
                                               "serve", "--port", str(p), "--tick", "0.2", "--log-level", "warning"],
                                              env=env, stdout=log, stderr=subprocess.STDOUT))
            state = app.state.emulator
            deadline = time.time() + 60
            s0 = _first_slot(db, N, deadline)  # slots are laid when the first replica syncs the accounts
            while not state.calls and time.time() < deadline:
                time.sleep(0.05)
            assert state.calls, "no replica polled within 60 s"
            for p in ports:  # any replica answers the API
                while True:
                    try:
                        assert httpx.get(f"http://127.0.0.1:{p}/v1/health", timeout=2).json()["status"] == "ok"
                        break
                    except (httpx.HTTPError, AssertionError):
                        assert time.time() < deadline
                        time.sleep(0.1)
            time.sleep(max(0.0, s0 + 1.1 * INTERVAL - time.time()))
            procs[0].kill()  # mid-way through the second slot, possibly holding claims
            # stop just before a 4th slot opens: slots s0, s0+I, s0+2I make exactly 3 polls per account
            time.sleep(max(0.0, s0 + 3 * INTERVAL - 0.6 - time.time()))
            for p in procs[1:]:
                p.send_signal(signal.SIGTERM)
            for i, p in enumerate(procs[1:], 1):
                # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully
                assert p.wait(30) in (0, -signal.SIGTERM), (tmp_path / f"replica-{i}.log").read_text()[-3000:]
        store = open_store(db)
        with store.engine.connect() as conn:
            polls = dict(conn.execute(select(schema.job_runs.c.outcome, func.count())  # type: ignore[arg-type]
                                      .where(schema.job_runs.c.job == "poll").group_by(schema.job_runs.c.outcome))
                         .tuples().all())
            observed = conn.execute(select(schema.samples.c.account_id, schema.samples.c.observed_ts)).fetchall()
            dup_alerts = conn.execute(select(schema.alerts.c.key, func.count()).where(schema.alerts.c.state == "open")
                                      .group_by(schema.alerts.c.key).having(func.count() > 1)).fetchall()
        store.close()
        per_account: dict[str, set[float]] = defaultdict(set)
        for aid, ts in observed:
            per_account[aid].add(round(ts, 3))
        counts = Counter({a: _clusters(sorted(t)) for a, t in per_account.items()})
        assert len(counts) == N, f"accounts never polled: {N - len(counts)}"
        odd = [a for a, c in counts.items() if c != 3][:1]
        assert set(counts.values()) == {3}, (Counter(counts.values()), [round(t - s0, 2) for a in odd
                                                                          for t in sorted(per_account[a])])
        assert not dup_alerts
        sent = Counter((h["event"], h["alert"]["key"]) for h in hooks if "alert" in h)
        assert sent, "no alert reached the webhook"
        assert max(sent.values()) == 1, [k for k, n in sent.items() if n > 1]  # each notice sent once
        assert sum(polls.values()) >= 3 and polls.get("ok", 0) >= 1, polls  # job runs recorded
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        with contextlib.suppress(StopIteration):
            next(gen)
