"""A quiet daemon does not load what only some requests use: the MCP SDK is imported by the first ``/mcp`` request,
and that request is then answered by the official MCP client as before; ``serve`` polls and idles without the
typer CLI (nor rich), FastAPI and Starlette's routing (the API is built by its first request, once, however many
come at once), Jinja and the dashboard's views, ``prometheus_client`` or Alembic; the first page and the first
scrape then load what they use. ``serve --with-proxy`` answers ``/proxy`` without building the API."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from quotawarden.emulator import Scenario, create_app, demo_scenario, serve, write_demo_config
from quotawarden.interfaces.daemon.serve import build, local_token_file
from quotawarden.store import open_store
from tests.daemon.conftest import Uvicorn, make_service

BUILD = """
import sys
from quotawarden.app.service import build_service
from quotawarden.interfaces.daemon.serve import build
svc = build_service(sys.argv[1], store_url=sys.argv[2])
build(svc, "127.0.0.1")
heavy = sorted(m for m in ("mcp", "alembic", "websockets") if m in sys.modules)
print(",".join(heavy) or "-")
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_daemon_app_is_built_without_the_mcp_sdk(tmp_path: Path, db_url: str) -> None:
    make_service(db_url, tmp_path).close()  # the store exists and is migrated, as on a restart
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    done = subprocess.run([sys.executable, "-c", BUILD, str(cfg), db_url], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "-"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_mcp_answers_through_the_lazy_mount(tmp_path: Path, db_url: str) -> None:
    svc = make_service(db_url, tmp_path)
    app, _daemon = build(svc, "127.0.0.1")

    token = local_token_file().read_text().strip()

    async def tools(url: str) -> set[str]:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with http, Client(streamable_http_client(f"{url}/mcp/", http_client=http)) as client:
            return {t.name for t in (await client.list_tools()).tools}

    with Uvicorn(app) as url:
        assert httpx.post(f"{url}/mcp/", json={}).status_code == 401  # the daemon's auth, before any import
        first, again = asyncio.run(tools(url)), asyncio.run(tools(url))
    assert {"status", "list_alerts"} <= first
    assert again == first
    svc.close()


LAZY = ("sqlalchemy", "typer", "rich", "pygments", "watchfiles", "jinja2", "prometheus_client", "alembic", "mcp",
        "websockets",
        "opentelemetry.sdk", "fastapi", "starlette.routing", "quotawarden.interfaces.cli.app",
        "quotawarden.interfaces.views", "quotawarden.interfaces.api.metrics_collector")
"""What an idle ``serve`` on SQLite (no ``[otel]`` export, nobody browsing or scraping) must not have imported:
SQLAlchemy included (the store runs on ``sqlite3``; an existing, migrated store needs neither it nor Alembic)."""

SERVE = f"""
import logging, sqlite3, sys, threading, time
from quotawarden.interfaces.cli.main import main

def loaded():
    return ",".join(m for m in {LAZY!r} if sys.modules.get(m) is not None) or "-"

def report():  # once every account has been polled: which of LAZY are loaded; again at each line read
    t0, db, n = time.time(), sys.argv[2], int(sys.argv[3])
    while True:
        try:
            with sqlite3.connect(db) as c:
                if c.execute("SELECT count(*) FROM account_state WHERE observed_ts >= ?", (t0,)).fetchone()[0] >= n:
                    break
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    time.sleep(1.0)  # the poll's alert checks and the first status board
    print(loaded(), flush=True)
    for _ in sys.stdin:
        print(loaded(), flush=True)

said = logging.getLogger("quotawarden.daemon")  # says when the API is built
said.addHandler(logging.StreamHandler())
said.setLevel(logging.INFO)
threading.Thread(target=report, daemon=True).start()
main(["serve", "--port", sys.argv[1], "--log-level", "warning", *sys.argv[4:]])
"""


class IdleServe:
    """``serve`` in a process of its own on the emulator's accounts (an existing store), polled once."""

    def __init__(self, proc: subprocess.Popen[str], url: str, token_file: Path) -> None:
        self.proc, self.url, self.token_file = proc, url, token_file
        self.err = ""

    def loaded(self) -> str:
        """Which of LAZY the daemon has imported, now."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("?\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token_file.read_text().strip()}"}


@contextmanager
def idle_serve(tmp_path: Path, scenario: Scenario, emulator: str, *args: str, config: str = "") -> Iterator[IdleServe]:
    db = tmp_path / "qw.db"
    cfg = write_demo_config(scenario, emulator, tmp_path, db_url=f"sqlite:///{db}")
    cfg.write_text(cfg.read_text() + config)
    env = {**os.environ, "QUOTAWARDEN_CONFIG": str(cfg), "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("QUOTAWARDEN_DB_URL", None)
    env.pop("QUOTAWARDEN_ADMIN_TOKEN", None)
    open_store(f"sqlite:///{db}").close()  # the store exists and is migrated, as on a restart
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port), str(db), str(len(scenario.accounts)), *args],
                            env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    served = IdleServe(proc, f"http://127.0.0.1:{port}", tmp_path / "data" / "quotawarden" / "admin-token")
    try:
        assert proc.stdout is not None
        loaded = proc.stdout.readline().strip()  # the script prints once the poll is done
        assert loaded == "-", (loaded, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        yield served
    finally:
        proc.terminate()
        _, served.err = proc.communicate(timeout=30)
    assert "Traceback" not in served.err, served.err[-2000:]  # stopped as uvicorn stops on SIGTERM (it re-raises)
    assert "dashboard http://127.0.0.1:" in served.err  # what serve says on start, as before


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """The calls in threads of their own, released together."""
    start = threading.Barrier(len(calls))
    out: dict[int, httpx.Response] = {}

    def one(i: int) -> None:
        start.wait()
        out[i] = calls[i]()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return [out[i] for i in range(len(calls))]


def test_an_idle_serve_loads_neither_the_cli_nor_the_api_nor_what_pages_and_scrapes_use(tmp_path: Path) -> None:
    scenario = demo_scenario()
    with serve(create_app(scenario)) as emu, idle_serve(tmp_path, scenario, emu) as daemon:
        base = daemon.url
        # the first two requests, at once: the API is built by one of them, both are answered by it
        status, page = at_once(lambda: httpx.get(f"{base}/v1/status", headers=daemon.admin(), timeout=60),
                               lambda: httpx.get(f"{base}/", headers={"Accept": "text/html"}, timeout=60))
        assert status.status_code == 200, status.text
        assert {a.id for a in scenario.accounts} <= {a["id"] for a in status.json()["accounts"]}
        assert page.status_code == 200 and scenario.accounts[0].id in page.text  # loopback, no admin token
        refused = httpx.get(f"{base}/v1/status", timeout=30)  # the API's 401 says where the token is
        assert refused.status_code == 401 and "admin-token" in refused.json()["detail"]
        scrape = httpx.get(f"{base}/metrics", timeout=30)  # loopback: open
        assert scrape.status_code == 200 and "quotawarden_window_used_ratio{" in scrape.text
        loaded = set(daemon.loaded().split(","))
        assert {"fastapi", "starlette.routing", "jinja2", "prometheus_client"} <= loaded
        assert "sqlalchemy" not in loaded  # the API's reads run on sqlite3 as the polls' writes do
    assert daemon.err.count("HTTP API built in") == 1, daemon.err[-2000:]


OPENAI = next(a for a in demo_scenario().accounts if a.provider == "openai")


def test_serve_with_proxy_answers_the_proxy_without_building_the_api(tmp_path: Path) -> None:
    scenario = demo_scenario()
    with serve(create_app(scenario)) as emu:
        proxy = f'\n[proxy]\nspill_dir = "{tmp_path / "spill"}"\nupstreams = {{ openai = "{emu}" }}\n'
        with idle_serve(tmp_path, scenario, emu, "--with-proxy", config=proxy) as daemon:
            reply = httpx.post(f"{daemon.url}/proxy/openai/v1/chat/completions", timeout=60,
                               headers={"authorization": f"Bearer {OPENAI.credential}"},
                               json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
            assert reply.status_code == 200, reply.text
            assert reply.json()["choices"][0]["message"]["content"]
            assert daemon.loaded() == "-"
            assert httpx.get(f"{daemon.url}/v1/status", headers=daemon.admin(), timeout=60).status_code == 200
            assert "fastapi" in daemon.loaded().split(",")
    assert daemon.err.count("HTTP API built in") == 1


def test_the_c_heap_is_trimmed_where_glibc_has_malloc_trim() -> None:
    import platform

    from quotawarden.app.daemon import heap

    assert heap.trim() is (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc")


@pytest.mark.parametrize("name", ["serve", "proxy"])
def test_fast_start_takes_the_options_typer_declares(name: str) -> None:
    """``serve`` and ``proxy`` start through argparse (no typer in the long-running process): the same option names
    and defaults as the typer command that answers ``--help``, so neither route can drift from the other."""
    import importlib

    import typer.main

    from quotawarden.interfaces.cli.app import build_app

    _parse = importlib.import_module(f"quotawarden.interfaces.cli.{name}")._parse
    command = typer.main.get_command(build_app(name))
    params = {p.name: p for p in command.commands[name].params}  # type: ignore[attr-defined]
    fast = _parse([])
    assert fast is not None and set(fast) == set(params)
    for key, param in params.items():
        assert fast[key] == param.default, key
        for opt in param.opts:
            value = [] if getattr(param, "is_flag", False) else ["1" if key in ("port", "tick") else "x"]
            assert _parse([opt, *value]) is not None, opt
    assert _parse(["--bogus"]) is None  # typer explains it


PROXY = f"""
import sys, threading, time
from quotawarden.interfaces.cli.main import main

def report():
    import urllib.request
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{{sys.argv[1]}}/_quotawarden/health", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    print(",".join(m for m in {LAZY!r} if sys.modules.get(m) is not None) or "-", flush=True)

threading.Thread(target=report, daemon=True).start()
main(["proxy", "--port", sys.argv[1]])
"""


def test_an_idle_proxy_loads_no_cli(tmp_path: Path) -> None:
    db = tmp_path / "qw.db"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{db}"\n[[accounts]]\nid = "a"\nprovider = "openai"\n'
                   'credential = "env:QW_TEST_KEY"\nbase_url = "http://127.0.0.1:9"\npool = "p"\n'
                   '[[pools]]\nname = "p"\n')
    env = {**os.environ, "QUOTAWARDEN_CONFIG": str(cfg), "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d"),
           "QW_TEST_KEY": "sk-test-proxy-footprint-0000"}
    env.pop("QUOTAWARDEN_DB_URL", None)
    open_store(f"sqlite:///{db}").close()  # the store exists and is migrated, as on a restart
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", PROXY, str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        said = proc.stdout.readline()
        assert said.startswith(f"quotawarden proxy on http://127.0.0.1:{port}  routes: "), said
        loaded = proc.stdout.readline().strip()
        assert loaded == "-", (loaded, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err[-2000:]
    assert "sk-test-proxy-footprint" not in err
