"""A key sent through the proxy that is a configured account's key is that account (matched by fingerprint):
its usage and readings land on it, no ``observed-...`` account appears. Both databases, the openai SDK as the
client, the emulator as the upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai

from quotawarden.app.service import build_service
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.redact import fingerprint
from quotawarden.store import accounts as accounts_q
from quotawarden.store import usage as usage_q
from tests.proxy.conftest import serve as serve_proxy

TEAM_KEY = "sk-proj-" + "k" * 40


def test_pass_through_with_a_configured_key_is_that_account(tmp_path: Path, db_url: str, monkeypatch: Any) -> None:
    scenario = Scenario(accounts=[EmuAccount("team", "openai", TEAM_KEY, limits={"requests": 100})])
    monkeypatch.setenv("TEAM_OPENAI_KEY", TEAM_KEY)
    with serve(create_app(scenario)) as emu:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f'[proxy]\nspill_dir = "{tmp_path / "spill"}"\nupstreams = {{ openai = "{emu}" }}\n'
                       f'[[accounts]]\nid = "team-openai"\nprovider = "openai"\ncredential = "env:TEAM_OPENAI_KEY"\n'
                       f'base_url = "{emu}"\n', encoding="utf-8")
        service = build_service(cfg, store_url=db_url)
        try:
            with serve_proxy(service.build_proxy()) as url:
                client = openai.OpenAI(base_url=f"{url}/openai/v1", api_key=TEAM_KEY, max_retries=0)
                assert client.chat.completions.create(model="gpt-4o-mini",
                                                      messages=[{"role": "user", "content": "hi"}])
            assert [e.account_id for e in usage_q.events_between(service.store)] == ["team-openai"]
            assert [a.id for a in accounts_q.list_accounts(service.store)] == ["team-openai"]
            assert [a.id for a in service.accounts()] == ["team-openai"]
            assert accounts_q.account_by_fingerprint(service.store, fingerprint(TEAM_KEY)) == "team-openai"
            assert {s.account_id for s in service.samples("team-openai")} == {"team-openai"}
        finally:
            service.close()
