"""Alerts as a new user meets them: a 429 a failover pool absorbed, notices waiting for a channel, and advice that is
true of the account (an unset variable, a refused key, a balance, a rate window). Real proxy, real emulator, the
real CLI entry point, a real webhook; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import orjson
import pytest

from quotawarden.app.service import build_service
from quotawarden.domain import AccountState, Outcome
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.store import accounts as accounts_q
from tests.proxy.conftest import serve as serve_proxy

KEYS = {"a": "sk-ant-api03-" + "a" * 40, "b": "sk-ant-api03-" + "b" * 40}


def _notices(webhook: Any) -> list[tuple[str, str, str]]:
    out = []
    for r in webhook.requests:
        body = orjson.loads(r["body"])
        out.append((body["event"], body["alert"]["key"], body["alert"]["severity"]))
    return out


@pytest.fixture(autouse=True)
def _hook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QW_HOOK_SECRET", "whsec-test-0123456789")


def _channel(webhook: Any) -> str:
    """The signed JSON webhook (its body carries the alert as data)."""
    return (f'[[alerts.channels]]\nurl = "json://{webhook.url}/hook"\nhmac_secret = "env:QW_HOOK_SECRET"\n'
            'severities = ["warning", "critical"]\n')


def _pool_config(tmp: Path, emu: str, webhook: Any, db_url: str, rotate: str) -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[proxy]\nspill_dir = "{tmp / "spill"}"\n'
                   f'[autonomy]\nrotate_keys = "{rotate}"\n'
                   + _channel(webhook)
                   + "".join(f'[[accounts]]\nid = "{n}"\nprovider = "anthropic"\ncredential = "env:KEY_{n.upper()}"\n'
                             f'base_url = "{emu}"\npool = "team"\n' for n in KEYS)
                   + '[[pools]]\nname = "team"\naccounts = ["a", "b"]\n', encoding="utf-8")
    return cfg


def _one_request_with_a_429(tmp: Path, webhook: Any, db_url: str, monkeypatch: pytest.MonkeyPatch, rotate: str
                            ) -> tuple[Any, int]:
    """Account a's rpm is used up: the pool's first answer is a 429 with its rate-limit headers."""
    for name, key in KEYS.items():
        monkeypatch.setenv(f"KEY_{name.upper()}", key)
    scenario = Scenario(accounts=[
        EmuAccount("a", "anthropic", KEYS["a"], limits={"requests": 50, "tokens": 90_000}, used={"requests": 50}),
        EmuAccount("b", "anthropic", KEYS["b"], limits={"requests": 50, "tokens": 90_000})])
    with serve(create_app(scenario)) as emu:
        svc = build_service(_pool_config(tmp, emu, webhook, db_url, rotate), store_url=db_url)
        with serve_proxy(svc.build_proxy()) as url:
            client = anthropic.Anthropic(base_url=f"{url}/team", api_key="anything", max_retries=0)
            try:
                client.messages.create(model="claude-sonnet-4-5", max_tokens=10,
                                       messages=[{"role": "user", "content": "hi"}])
                got = 200
            except anthropic.RateLimitError as exc:
                got = exc.status_code
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(s.account.id == "a" and s.outcome is Outcome.THROTTLED
                                                      for s in svc.status()):
            time.sleep(0.05)
    return svc, got


def test_a_429_the_pool_absorbed_is_one_warning_then_the_pool_running_out_is_one_critical(
        tmp_path: Path, webhook: Any, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    svc, got = _one_request_with_a_429(tmp_path, webhook, db_url, monkeypatch, "auto")
    try:
        assert got == 200  # the pool failed over: the client never saw the 429
        svc.evaluate_alerts(())
        svc.deliver_alerts()
        assert _notices(webhook) == [("opened", "health:a:rpm", "warning")]
        (rec,) = svc.actions.list()
        assert "429" in rec.alert.message and "pool team" in rec.alert.message
        assert rec.alert.action.startswith("nothing to do now: pool team")
        for _ in range(3):  # the same condition, evaluated again: updated, never re-announced
            svc.evaluate_alerts(())
            svc.deliver_alerts()
        assert len(webhook.requests) == 1 and len(svc.actions.list()) == 1

        # a's refusal was request-scoped (its minute bucket): the pool still counts it as usable. Now a window of
        # each is exhausted: b's own warning, and the pool having nothing left is the one critical condition
        accounts_q.set_states(svc.store, [AccountState(n, Outcome.LIMITED, "upstream answered 429", svc.now())
                                          for n in KEYS])
        svc.evaluate_alerts(())
        svc.deliver_alerts()
        assert sorted(_notices(webhook)[1:]) == [("opened", "limited:b", "warning"),
                                                 ("opened", "limited:pool:team", "critical")]
        pool_alert = next(r for r in svc.actions.list() if r.key == "limited:pool:team")
        assert "add an account to pool team" in pool_alert.alert.action

        # both answer again: everything announced resolves
        accounts_q.set_states(svc.store, [AccountState(n, Outcome.OK, "", svc.now()) for n in KEYS])
        svc.evaluate_alerts(())
        svc.deliver_alerts()
        assert ("resolved", "limited:pool:team", "critical") in _notices(webhook)
    finally:
        svc.close()


def test_without_failover_the_client_sees_the_429_and_it_is_one_critical(
        tmp_path: Path, webhook: Any, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    svc, got = _one_request_with_a_429(tmp_path, webhook, db_url, monkeypatch, "off")
    try:
        assert got == 429
        svc.evaluate_alerts(())
        svc.deliver_alerts()
        assert _notices(webhook) == [("opened", "health:a:rpm", "critical")]  # the limit and its window: one alert
        (rec,) = svc.actions.list()
        assert "refills" in rec.alert.action and "resets" not in rec.alert.action
    finally:
        svc.close()


def test_alerts_opened_before_any_channel_are_sent_once_one_is_added(tmp_path: Path, webhook: Any,
                                                                    db_url: str) -> None:
    base = (f'[database]\nurl = "{db_url}"\n[[accounts]]\nid = "gone"\nprovider = "openai"\n'
            'credential = "env:QW_NEVER_SET_KEY"\n')
    bare = tmp_path / "bare.toml"
    bare.write_text(base, encoding="utf-8")
    svc = build_service(bare, store_url=db_url)
    try:
        accounts_q.set_states(svc.store, [AccountState("gone", Outcome.INVALID, "openai: HTTP 401", svc.now())])
        assert svc.evaluate_alerts(()).opened == ["key_invalid:gone"]
        assert svc.deliver_alerts() == []  # nowhere to send it yet: it waits
        assert svc.deliver_alerts() == []
    finally:
        svc.close()
    with_channel = tmp_path / "channel.toml"
    with_channel.write_text(base + _channel(webhook), encoding="utf-8")
    svc = build_service(with_channel, store_url=db_url)
    try:
        assert [s.ok for s in svc.deliver_alerts()] == [True]
        assert _notices(webhook) == [("opened", "key_invalid:gone", "critical")]
        assert svc.deliver_alerts() == []  # and only once
    finally:
        svc.close()


# -- advice that is true of the account, through the real entry point ----------------------------------------------

DS_KEY = "sk-" + "d" * 32
OPENAI_GOOD = "sk-proj-" + "g" * 40


def _cli(config: Path, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if k not in ("QW_UNSET_KEY",)}
    env.update(QW_DS_KEY=DS_KEY, QW_BAD_KEY="sk-proj-" + "x" * 40)
    proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config), *args,
                           "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_each_alert_says_what_to_do_in_words_true_for_it(tmp_path: Path) -> None:
    scenario = Scenario(accounts=[
        EmuAccount("ds", "deepseek", DS_KEY, limits={"balance": 20.0}, used={"balance": 19.0}),
        EmuAccount("oa", "openai", OPENAI_GOOD, limits={"requests": 100})])
    with serve(create_app(scenario)) as emu:
        config = tmp_path / "config.toml"
        config.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'qw.db'}"

[[accounts]]
id = "ds"
provider = "deepseek"
credential = "env:QW_DS_KEY"
base_url = "{emu}"
reference = {{ USD = 20 }}

[[accounts]]
id = "oa-unset"
provider = "openai"
credential = "env:QW_UNSET_KEY"
base_url = "{emu}"

[[accounts]]
id = "oa-refused"
provider = "openai"
credential = "env:QW_BAD_KEY"
base_url = "{emu}"
""", encoding="utf-8")
        _cli(config, "poll", "--force")
        _cli(config, "alerts", "run")
        alerts = {a["key"]: a for a in _cli(config, "alerts", "list")["alerts"]}

    unset = alerts["key_invalid:oa-unset"]
    assert "rejects" not in unset["message"] and "not available here" in unset["message"]
    assert "environment variable QW_UNSET_KEY is not set" in unset["message"]
    assert unset["action"].startswith("set QW_UNSET_KEY") and "keys rotate" not in unset["action"]

    refused = alerts["key_invalid:oa-refused"]
    assert "the provider rejects the credential" in refused["message"]
    assert "put a valid key in QW_BAD_KEY" in refused["action"]
    assert "x" * 20 not in json.dumps(alerts)  # the refused key itself never shows

    (balance,) = [a for k, a in alerts.items() if k.startswith("health:ds:")]
    assert balance["severity"] == "critical" and "top up" in balance["action"]
    assert "reset" not in balance["action"].replace("never resets", "")
