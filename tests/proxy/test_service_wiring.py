"""``Service.build_proxy()`` end to end: config file -> proxy -> real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import sqlalchemy as sa

from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.redact import fingerprint
from quotawarden.service import build_service
from quotawarden.store import schema
from quotawarden.store import usage as usage_q
from tests.proxy.conftest import serve as serve_proxy

TEAM_KEY = "sk-proj-" + "t" * 40
OWN_KEY = "sk-proj-" + "o" * 40


def test_proxy_built_by_the_service_writes_to_the_store(tmp_path: Path, db_url: str, monkeypatch: Any) -> None:
    scenario = Scenario(accounts=[EmuAccount("team", "openai", TEAM_KEY, limits={"requests": 100}),
                                  EmuAccount("own", "openai", OWN_KEY, limits={"requests": 100})])
    monkeypatch.setenv("TEAM_OPENAI_KEY", TEAM_KEY)
    monkeypatch.setenv("QW_TOKEN_CI", "qw-ci-token-123456")
    with serve(create_app(scenario)) as emu:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f"""
[proxy]
spill_dir = "{tmp_path / 'spill'}"
upstreams = {{ openai = "{emu}" }}

[[proxy.client_tokens]]
token = "env:QW_TOKEN_CI"
consumer = "ci-bot"
project = "release"

[[accounts]]
id = "team-openai"
provider = "openai"
credential = "env:TEAM_OPENAI_KEY"
base_url = "{emu}"
pool = "team"

[[pools]]
name = "team"
""", encoding="utf-8")
        service = build_service(cfg, store_url=db_url)
        app = service.build_proxy()
        with serve_proxy(app) as url:
            pooled = openai.OpenAI(base_url=f"{url}/team/v1", api_key="qw-ci-token-123456", max_retries=0)
            assert pooled.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            own = openai.OpenAI(base_url=f"{url}/openai/v1", api_key=OWN_KEY, max_retries=0,
                                default_headers={"X-Quotawarden-Token": "qw-ci-token-123456"})
            assert own.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        events = usage_q.events_between(service.store)
        assert sorted((e.account_id or "", e.consumer) for e in events) == sorted([
            ("team-openai", "ci-bot"), (f"observed-openai-{fingerprint(OWN_KEY)[:10]}", "ci-bot")])
        with service.store.engine.connect() as conn:
            row = conn.execute(sa.select(schema.accounts).where(schema.accounts.c.origin == "observed")).one()
        assert row.fingerprint == fingerprint(OWN_KEY) and row.provider == "openai"
        assert OWN_KEY not in str(tuple(row))
        service.close()
