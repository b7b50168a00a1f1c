"""`serve --with-proxy`: the proxy answers under /proxy and flushes on shutdown; the dashboard is open on loopback
when no admin token is configured, and closed behind one when it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai

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


def test_dashboard_needs_the_admin_token_once_one_is_configured(tmp_path: Path, db_url: str) -> None:
    svc = make_service(db_url, tmp_path, f'[server]\nadmin_token = "{ADMIN}"\n'.replace("[server]\n", ""))
    svc.config.settings.server.admin_token = ADMIN
    app, _daemon = build(svc, "127.0.0.1")
    with Uvicorn(app) as url:
        assert httpx.get(f"{url}/").status_code == 401
        assert httpx.get(f"{url}/", headers={"authorization": f"Bearer {ADMIN}"}).status_code == 200
    svc.close()
