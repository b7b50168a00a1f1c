"""A clean shutdown stores every usage record before the process ends: read right after, the store holds one usage
event per request answered 200, and the spill folder holds nothing left to replay.

Through the proxy built by the service (``Service.build_proxy``, stopped by its ASGI lifespan), and through the two
entry points that own a store, ``quotawarden proxy`` and ``quotawarden serve --with-proxy``, each stopped with
SIGTERM while clients are still sending. The upstream is ``tests/proxy/faulty_upstream.py`` (one unique response
id per answer, stored as the event's ``request_id``); SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import sqlalchemy as sa

from quotawarden.app.service import build_service
from quotawarden.sources.proxy import ProxyApp, ProxyConfig
from quotawarden.sources.proxy.dialects import UsageReader
from quotawarden.spec import ProviderSpec
from tests.proxy.conftest import RecordingSink
from tests.proxy.conftest import serve as serve_proxy

KEY = "sk-shutdown-upstream-key-00000000"
MSGS: Any = [{"role": "user", "content": "hi"}]


def _config(tmp: Path, db_url: str, upstream: str, *, spill: bool = True) -> Path:
    cfg = tmp / "config.toml"
    spill_dir = f'[proxy]\nspill_dir = "{tmp / "spill"}"' if spill else ""
    cfg.write_text(f"""
[database]
url = "{db_url}"
{spill_dir}
[[accounts]]
id = "down-a"
provider = "openai"
credential = "env:QW_SHUTDOWN_KEY"
base_url = "{upstream}"
pool = "team"
[[accounts]]
id = "down-b"
provider = "openai"
credential = "env:QW_SHUTDOWN_KEY"
base_url = "{upstream}"
pool = "team"
[[pools]]
name = "team"
""", encoding="utf-8")
    return cfg


def _stored(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text("SELECT request_id FROM usage_events WHERE source = 'proxy'"))]
    finally:
        engine.dispose()


def _left_for_replay(tmp: Path) -> list[str]:
    spill = tmp / "spill"
    return sorted(p.name for p in spill.glob("*.jsonl")) if spill.exists() else []


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_service_built_proxy_stores_every_answer_before_it_stops(faulty: str, tmp_path: Path, db_url: str,
                                                                   monkeypatch: Any) -> None:
    """12 requests from 3 SDK clients at once through a pool, then the proxy stops (its ASGI lifespan): the store
    read right after holds exactly the 12 answers."""
    monkeypatch.setenv("QW_SHUTDOWN_KEY", KEY)
    service = build_service(_config(tmp_path, db_url, faulty), store_url=db_url)
    try:
        with serve_proxy(service.build_proxy()) as url:
            client = openai.OpenAI(base_url=f"{url}/team/v1", api_key="anything", max_retries=0)
            with ThreadPoolExecutor(3) as pool:
                answered = list(pool.map(lambda _: client.chat.completions.create(model="gpt-4o-mini",
                                                                                  messages=MSGS).id, range(12)))
        assert len(set(answered)) == 12
        assert sorted(_stored(db_url)) == sorted(answered)
        assert _left_for_replay(tmp_path) == []
    finally:
        service.close()


async def _load(url: str, answered: list[str], stop: threading.Event) -> None:
    client = openai.AsyncOpenAI(base_url=url, api_key="anything", max_retries=0, timeout=10)

    async def worker() -> None:
        while not stop.is_set():
            try:
                r = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
            except openai.APIError:
                if stop.is_set():
                    return
                await asyncio.sleep(0.02)
                continue
            answered.append(r.id)

    async with client:
        await asyncio.gather(*(worker() for _ in range(4)))


def _start(cfg: Path, command: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    """``quotawarden --config CFG <command> PORT`` on a free port, once its proxy answers; (process, proxy base)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}" + ("/proxy" if command[0] == "serve" else "")
    exe = Path(sys.executable).parent / "quotawarden"
    proc = subprocess.Popen([str(exe), "--config", str(cfg), *command, str(port)],
                            env={**os.environ, "QW_SHUTDOWN_KEY": KEY}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    end = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/_quotawarden/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            raise AssertionError(proc.stderr.read().decode()[-2000:] if proc.stderr else "did not start")
        time.sleep(0.1)


def _under_load(base: str, then: Any) -> list[str]:
    """4 SDK clients send until ``then()`` (a signal to the process) has run, with at least 100 answers before; the
    response ids answered 200."""
    answered: list[str] = []
    stop = threading.Event()
    loader = threading.Thread(target=lambda: asyncio.run(_load(f"{base}/team/v1", answered, stop)), daemon=True)
    loader.start()
    t0 = time.monotonic()
    while len(answered) < 100 and time.monotonic() - t0 < 8:
        time.sleep(0.05)
    then()  # while the clients are still sending
    stop.set()
    loader.join(15)
    assert len(answered) >= 20, "the load did not get going"
    return answered


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


@pytest.mark.parametrize("command", [["proxy", "--port"], ["serve", "--with-proxy", "--port"]],
                         ids=["proxy", "serve-with-proxy"])
def test_sigterm_under_load_stores_every_answer_before_exit(faulty: str, tmp_path: Path, db_url: str,
                                                           command: list[str]) -> None:
    """4 clients keep sending while the process gets SIGTERM: it finishes what is in flight, writes every record
    and exits; the store read right after holds exactly the requests answered 200, and nothing waits for a
    replay."""
    proc, base = _start(_config(tmp_path, db_url, faulty), command)
    try:
        answered = _under_load(base, lambda: proc.send_signal(signal.SIGTERM))
        # uvicorn re-raises the signal once it has shut down: -SIGTERM is the clean exit, like 0
        assert proc.wait(30) in (0, -signal.SIGTERM), proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        stored = _stored(db_url)  # right after exit: no restart, no replay
        assert len(stored) == len(set(stored)), "a usage event was stored twice"
        assert sorted(stored) == sorted(answered), (len(stored), len(answered))
        assert _left_for_replay(tmp_path) == []
    finally:
        _stop(proc)


def test_sigterm_waits_for_a_long_stream_and_records_its_usage(faulty: str, tmp_path: Path, db_url: str) -> None:
    """A stream that runs 8 s is in flight when ``quotawarden proxy`` gets SIGTERM: the stop waits for it (its usage
    comes in its last event), the client gets the whole stream, and the store holds its usage event."""
    proc, base = _start(_config(tmp_path, db_url, faulty), ["proxy", "--port"])
    got: list[str] = []
    try:
        def stream() -> None:
            client = openai.OpenAI(base_url=f"{base}/team/v1", api_key="anything", max_retries=0, timeout=30,
                                   default_headers={"x-test": "slow-sse"})
            for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True,
                                                        stream_options={"include_usage": True}):
                got.append(chunk.id)

        reader = threading.Thread(target=stream, daemon=True)
        reader.start()
        t0 = time.monotonic()
        while not got and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        assert got, "the stream did not start"
        proc.send_signal(signal.SIGTERM)  # 7 s of the stream still to come
        reader.join(30)
        assert len(got) == 9, got  # 8 content events and the usage event: the stream was not cut
        assert proc.wait(30) in (0, -signal.SIGTERM)
        assert _stored(db_url) == [got[0]]
    finally:
        _stop(proc)


def _status(cfg: Path) -> str:
    exe = Path(sys.executable).parent / "quotawarden"
    done = subprocess.run([str(exe), "--config", str(cfg), "status", "--wide"], capture_output=True, timeout=60,
                          env={**os.environ, "COLUMNS": "400"})
    assert done.returncode == 0, done.stderr.decode()
    return " ".join(done.stdout.decode().split())


def test_records_a_killed_proxy_left_are_announced_then_stored_by_serve_with_proxy(
        faulty: str, tmp_path: Path, db_url: str) -> None:
    """``quotawarden proxy`` (default spill folder: this store's own) is killed with SIGKILL under load; ``status``
    says how many usage records wait outside the store; ``serve --with-proxy`` on the same store stores them at
    start, once each, and ``status`` says nothing more."""
    cfg = _config(tmp_path, db_url, faulty, spill=False)
    proc, base = _start(cfg, ["proxy", "--port"])
    try:
        answered = _under_load(base, lambda: (proc.kill(), proc.wait(10)))
    finally:
        _stop(proc)
    before = set(_stored(db_url))
    said = _status(cfg)
    waiting = int(said.split(" proxy usage record(s) are not in the store yet")[0].rsplit(" ", 1)[-1])
    assert waiting > 0 and len(before) + waiting >= len(answered), (len(before), waiting, len(answered))
    assert "stored when `quotawarden proxy` or `serve --with-proxy` starts again" in said
    proc, _ = _start(cfg, ["serve", "--with-proxy", "--port"])
    try:
        end = time.monotonic() + 15
        while not set(answered) <= set(_stored(db_url)) and time.monotonic() < end:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        _stop(proc)
    stored = _stored(db_url)
    assert len(stored) == len(set(stored)), "a usage event was stored twice"
    assert set(answered) <= set(stored), f"{len(set(answered) - set(stored))} answered 200 and not stored"
    assert len(stored) - len(answered) <= 4  # served upstream, client cut off by the kill: recorded, as billed
    assert "not in the store yet" not in _status(cfg)


class SlowOpeningSink(RecordingSink):
    """A store that takes a second to connect: the first batch waits behind the connect in the writer thread."""

    def open(self) -> None:
        time.sleep(1.0)


def test_stopping_while_a_batch_waits_for_the_writer_loses_nothing(tmp_path: Path,
                                                                   providers: dict[str, ProviderSpec]) -> None:
    """The flusher has taken a batch whose write still waits for the writer thread when the proxy stops: the
    batch is written before stop returns (it used to be dropped with the cancelled flusher, its journal segment
    left locked until the process ended)."""
    sink = SlowOpeningSink()
    app = ProxyApp(replace(ProxyConfig(), spill_dir=tmp_path, flush_interval_s=0.05), sink=sink,
                   providers=providers)

    async def run() -> None:
        await app.start()
        for i in range(6):
            reader = UsageReader("openai")
            reader.feed({"model": "m", "usage": {"prompt_tokens": i, "completion_tokens": 1}})
            app.capture.usage(reader, provider="openai", account_id="a", consumer="c", project=None, pool=None,
                              model_hint="", now=app.clock.now())
        await asyncio.sleep(0.3)  # the flusher took the batch; its write waits behind the connect
        await app.stop()

    asyncio.run(run())
    assert sorted(e.input_tokens for e in sink.usage) == list(range(6))
    assert not list(tmp_path.glob("*.jsonl"))


def test_records_in_the_shared_spill_folder_of_an_earlier_version_move_to_the_stores_own(
        tmp_path: Path, faulty: str, monkeypatch: Any) -> None:
    """An earlier version kept one spill folder for every store; the first proxy built on a store takes what was
    left there into the store's own folder (counted by ``status``) and stores it when it starts."""
    import platformdirs

    from quotawarden.domain import Source, UsageEvent
    from quotawarden.sources.proxy import Batch, codec

    monkeypatch.setenv("QW_SHUTDOWN_KEY", KEY)
    db_url = f"sqlite:///{tmp_path / 'qw.db'}"
    legacy = Path(platformdirs.user_data_dir("quotawarden")) / "proxy-spill"
    legacy.mkdir(parents=True)
    event = UsageEvent(ts=datetime.now(UTC), provider="openai", model="gpt-4o-mini", source=Source.PROXY,
                       dedup_key="proxy:left-by-an-earlier-version", account_id="down-a", input_tokens=3,
                       output_tokens=1, request_id="chatcmpl-left")
    (legacy / "replay-1.jsonl").write_bytes(b"".join(codec.encode(Batch(usage=[event]))))
    service = build_service(_config(tmp_path, db_url, faulty, spill=False), store_url=db_url)
    try:
        app = service.build_proxy()
        count, folder = service.proxy_backlog()
        assert count == 1 and folder.parent == legacy and not list(legacy.glob("*.jsonl"))
        with serve_proxy(app):
            pass
        assert _stored(db_url) == ["chatcmpl-left"]
        assert service.proxy_backlog()[0] == 0
    finally:
        service.close()
