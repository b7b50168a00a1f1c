"""kill -9 of the proxy under load loses no usage and stores none twice.

The proxy is a real ``quotawarden proxy`` process in front of a real upstream process
(``tests/proxy/faulty_upstream.py``, one unique response id per answer); 16 concurrent httpx clients load it until
it is killed with SIGKILL, then it is started again on the same store and spill folder and replays its journal.
Every response id a client received with a 200 must be stored exactly once; the only other stored rows are calls
that the upstream answered but whose client was cut off by the kill (at most one per client in flight).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL, pg_schema_url

CONCURRENCY = 16
LOAD_S = 1.5


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ProxyProcess:
    def __init__(self, tmp: Path, db_url: str, upstream: str) -> None:
        self.config = tmp / "config.toml"
        self.config.write_text(f"""
[database]
url = "{db_url}"
[proxy]
spill_dir = "{tmp / 'spill'}"
[[accounts]]
id = "crash-openai"
provider = "openai"
credential = "env:CRASH_OPENAI_KEY"
base_url = "{upstream}"
pool = "crash"
[[pools]]
name = "crash"
""")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = Path(sys.executable).parent / "quotawarden"
        self.proc = subprocess.Popen([str(exe), "--config", str(self.config), "proxy", "--port", str(self.port)],
                                     env={**os.environ, "CRASH_OPENAI_KEY": "sk-crash-upstream-key-000000"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                if httpx.get(f"{self.url}/_quotawarden/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "proxy exited")
        raise RuntimeError("proxy did not start")

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_quotawarden/health", timeout=5).json())

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def _load(url: str, answered: list[str], stop: threading.Event) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=5, limits=limits) as client:
        async def worker() -> None:
            while not stop.is_set():
                try:
                    r = await client.post("/crash/v1/chat/completions", json=body,
                                          headers={"authorization": "Bearer any"})
                except httpx.HTTPError:
                    if stop.is_set():
                        return
                    await asyncio.sleep(0.01)
                    continue
                if r.status_code == 200:
                    answered.append(r.json()["id"])

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def _run_and_kill(proxy: ProxyProcess, during: Any = None) -> list[str]:
    """Load the proxy, SIGKILL it mid-load; the response ids answered 200."""
    answered: list[str] = []
    stop = threading.Event()
    loader = threading.Thread(target=lambda: asyncio.run(_load(proxy.url, answered, stop)), daemon=True)
    loader.start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < LOAD_S or (len(answered) < 300 and time.monotonic() - t0 < 8):
        if during is not None:
            during()
        time.sleep(0.1)
    proxy.kill()  # while the clients are still sending
    stop.set()
    loader.join(15)
    assert len(answered) >= 100, "the load did not get going"
    return answered


def _stored(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text(
                "SELECT request_id FROM usage_events WHERE source = 'proxy'"))]
    finally:
        engine.dispose()


def _restart_and_check(proxy: ProxyProcess, db_url: str, answered: list[str]) -> None:
    proxy.start()
    want = set(answered)
    end = time.monotonic() + 15
    while time.monotonic() < end and not want <= set(_stored(db_url)):
        time.sleep(0.2)
    proxy.stop()
    stored = _stored(db_url)
    assert len(stored) == len(set(stored)), "a usage event was stored twice"
    missing = want - set(stored)
    assert not missing, f"{len(missing)} of {len(want)} requests answered 200 have no usage event"
    extra = set(stored) - want
    assert len(extra) <= CONCURRENCY, extra  # served upstream, client cut off by the kill: recorded, as billed
    assert all(x.startswith("chatcmpl-") for x in extra)
    assert len(want) == len(answered)  # every answer had its own id
    print(f"answered 200: {len(want)}, stored: {len(stored)}, served but cut off by the kill: {len(extra)}")
    spill = proxy.config.parent / "spill"
    assert not list(spill.glob("journal-*.jsonl")) and not list(spill.glob("replay-*.jsonl"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'qw.db'}"


def _migrated(url: str) -> None:
    from quotawarden.store.engine import open_store

    open_store(url).close()


def test_kill_9_under_load_loses_no_usage_sqlite(faulty: str, tmp_path: Path, sqlite_url: str) -> None:
    proxy = ProxyProcess(tmp_path, sqlite_url, faulty)
    try:
        proxy.start()
        answered = _run_and_kill(proxy)
        _restart_and_check(proxy, sqlite_url, answered)
    finally:
        proxy.stop()


def test_kill_9_while_another_writer_holds_the_sqlite_store(faulty: str, tmp_path: Path, sqlite_url: str) -> None:
    """Every flush waits out the busy timeout and fails: the records are in the journal, not only in memory."""
    _migrated(sqlite_url)
    proxy = ProxyProcess(tmp_path, sqlite_url, faulty)
    holder = sqlite3.connect(str(tmp_path / "qw.db"), isolation_level=None)
    try:
        proxy.start()
        holder.execute("BEGIN IMMEDIATE")  # an open write transaction from another connection
        holder.execute("DELETE FROM usage_events WHERE dedup_key = 'none'")
        answered = _run_and_kill(proxy)
        assert _stored(sqlite_url) == []  # held the whole time: every answered record lived only in the journal
        holder.execute("ROLLBACK")
        holder.close()
        _restart_and_check(proxy, sqlite_url, answered)
    finally:
        proxy.stop()
        holder.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("QUOTAWARDEN_TEST_PG_URL is not set: PostgreSQL cases skipped")
    yield from pg_schema_url(PG_URL)


@pytest.mark.postgres
def test_kill_9_while_postgres_connections_are_terminated(faulty: str, tmp_path: Path, pg_url: str) -> None:
    import psycopg

    app_name = f"qwcrash{uuid.uuid4().hex[:8]}"
    url = f"{pg_url}&application_name={app_name}"
    _migrated(url)
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    admin = psycopg.connect(plain, autocommit=True)
    terminated = [0]

    def terminate() -> None:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                             (app_name,)).fetchall()
        terminated[0] += len(rows)

    proxy = ProxyProcess(tmp_path, url, faulty)
    try:
        proxy.start()
        answered = _run_and_kill(proxy, during=terminate)
        assert terminated[0] > 0
        _restart_and_check(proxy, url, answered)
    finally:
        proxy.stop()
        admin.close()
