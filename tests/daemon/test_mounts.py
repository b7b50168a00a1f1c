"""`serve --with-proxy`: the proxy answers under /proxy and flushes on shutdown, a proxy that cannot start stops
serve's start with its error; the dashboard is open on loopback when no admin token is configured, and closed behind
one when it is."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.interfaces.daemon.serve import build
from quotawarden.store import usage as usage_q
from tests.daemon.conftest import ADMIN, Uvicorn, make_service

KEY = "sk-proj-" + "m" * 40


def test_proxy_under_serve_records_usage(tmp_path: Path, db_url: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("MOUNT_OPENAI_KEY", KEY)
    scenario = Scenario(accounts=[EmuAccount("m", "openai", KEY, limits={"requests": 100})])
    with serve(create_app(scenario)) as emu:
        svc = make_service(db_url, tmp_path, f"""
[proxy]
spill_dir = "{tmp_path / 'spill'}"
upstreams = {{ openai = "{emu}" }}

[[accounts]]
id = "mounted-openai"
provider = "openai"
credential = "env:MOUNT_OPENAI_KEY"
base_url = "{emu}"
""")
        app, _daemon = build(svc, "127.0.0.1", with_proxy=True)
        with Uvicorn(app) as url:
            client = openai.OpenAI(base_url=f"{url}/proxy/openai/v1", api_key=KEY, max_retries=0)
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content
            assert httpx.get(f"{url}/").status_code == 200  # the dashboard: open on loopback, no token set
        events = usage_q.events_between(svc.store)
        assert [e.account_id for e in events] == ["mounted-openai"]
        svc.close()


def test_a_start_that_fails_stops_uvicorn_with_its_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "file").write_text("")
    svc = make_service(f"sqlite:///{tmp_path / 'a.db'}", tmp_path,
                       f'[proxy]\nspill_dir = "{tmp_path / "file" / "spill"}"\n')  # a folder inside a file
    app, daemon = build(svc, "127.0.0.1", tick_s=3600, with_proxy=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", log_config=None))
    caplog.set_level(logging.ERROR, logger="uvicorn.error")
    with socket.socket() as sock, pytest.raises(SystemExit):
        sock.bind(("127.0.0.1", 0))
        asyncio.run(server.serve(sockets=[sock]))
    assert not server.started
    assert "NotADirectoryError" in caplog.text and "Application startup failed" in caplog.text
    assert daemon.scheduler is None  # the daemon, started before the proxy, was stopped again
    svc.close()


def test_dashboard_needs_the_admin_token_once_one_is_configured(tmp_path: Path, db_url: str) -> None:
    svc = make_service(db_url, tmp_path, f'[server]\nadmin_token = "{ADMIN}"\n'.replace("[server]\n", ""))
    svc.config.settings.server.admin_token = ADMIN
    app, _daemon = build(svc, "127.0.0.1")
    with Uvicorn(app) as url:
        assert httpx.get(f"{url}/").status_code == 401
        assert httpx.get(f"{url}/", headers={"authorization": f"Bearer {ADMIN}"}).status_code == 200
    svc.close()
