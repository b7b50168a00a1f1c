"""``Service.build_proxy()`` end to end: config file -> proxy -> real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openai
import pytest
import sqlalchemy as sa

from quotawarden.app.service import build_service
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.redact import fingerprint
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


def test_the_store_sink_writes_big_batches_once_each(store: Any, clock: Any) -> None:
    """1,000 usage events (several multi-row statements), one repeated: stored once each, costs intact."""
    from decimal import Decimal

    from quotawarden.app.proxy import write_batch
    from quotawarden.domain import Source, UsageEvent
    from quotawarden.sources.proxy import Batch

    events = [UsageEvent(ts=clock.now(), provider="openai", model="gpt-4o-mini", source=Source.PROXY,
                         dedup_key=f"proxy:test-{i:05d}", account_id="a", consumer=f"c{i % 3}",
                         input_tokens=i, output_tokens=1, cost=Decimal("0.00012345")) for i in range(1000)]
    write_batch(store, Batch(usage=[*events, events[7]]))
    write_batch(store, Batch(usage=events[:300]))  # a replayed spill chunk: nothing doubles
    stored = usage_q.events_between(store)
    assert len(stored) == 1000
    assert sum(e.input_tokens for e in stored) == sum(range(1000))
    assert {e.cost for e in stored} == {Decimal("0.00012345")}


def test_the_proxy_writes_through_a_small_sqlite_page_cache(tmp_path: Path) -> None:
    """A long-running proxy must not grow by the store's 64 MiB page cache (bench/proxy.py: RSS over 100k)."""
    from quotawarden.app.proxy import StoreWriter

    cfg = tmp_path / "config.toml"
    cfg.write_text("", encoding="utf-8")
    writer = StoreWriter(build_service(cfg, store_url=f"sqlite:///{tmp_path / 'qw.db'}"))
    try:
        with writer.open().connect() as conn:
            assert conn.scalar("PRAGMA cache_size") == -4096
    finally:
        writer.close()


@pytest.mark.parametrize(("mode", "status", "audited"), [("auto", 200, "rotate_keys"),
                                                         ("ask", 429, "rotate_keys.proposed")])
def test_key_rotation_obeys_autonomy_and_lands_in_the_audit_trail(tmp_path: Path, monkeypatch: Any, mode: str,
                                                                  status: int, audited: str) -> None:
    from quotawarden.store import audit as audit_q

    keys = {"a": "sk-proj-" + "a" * 40, "b": "sk-proj-" + "b" * 40}
    scenario = Scenario(accounts=[EmuAccount("a", "openai", keys["a"], limits={"requests": 100}, fault="429"),
                                  EmuAccount("b", "openai", keys["b"], limits={"requests": 100})])
    for name, key in keys.items():
        monkeypatch.setenv(f"KEY_{name.upper()}", key)
    with serve(create_app(scenario)) as emu:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f'[proxy]\nspill_dir = "{tmp_path / "spill"}"\n[autonomy]\nrotate_keys = "{mode}"\n'
                       + "".join(f'[[accounts]]\nid = "{n}"\nprovider = "openai"\ncredential = "env:KEY_{n.upper()}"\n'
                                 f'base_url = "{emu}"\npool = "team"\n' for n in keys)
                       + '[[pools]]\nname = "team"\naccounts = ["a", "b"]\n', encoding="utf-8")
        service = build_service(cfg, store_url=f"sqlite:///{tmp_path / 'qw.db'}")
        with serve_proxy(service.build_proxy()) as url:
            client = openai.OpenAI(base_url=f"{url}/team/v1", api_key="anything", max_retries=0)
            try:
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
                got = 200
            except openai.RateLimitError as exc:
                got = exc.status_code
        assert got == status
        deadline = time.monotonic() + 10
        while not (events := audit_q.recent(service.store)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(e.actor, e.action, e.subject) for e in events] == [("proxy", audited, "pool:team")]
        assert events[0].detail["from"] == "a" and events[0].detail["to"] == "b"
        assert keys["a"] not in str(events[0].detail) and keys["b"] not in str(events[0].detail)
        service.close()
