"""Credential health: an OAuth sign-in that is expired and cannot be refreshed, or refreshed and refused, raises one
``auth_failure`` alert per account (however many polls see it), sent once, and resolved by the first probe that
succeeds. One test per provider family (Claude, Codex, Copilot, Antigravity, Gemini CLI, and any provider declaring
``auth="oauth"``), each through the real poller against the emulator on loopback; SQLite and PostgreSQL. For the
Google sign-ins, no refresh or access token reaches ``status --json``, ``poll --json``, the alert or the logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.app.service import Service, build_service
from quotawarden.clock import FixedClock
from quotawarden.domain import Outcome
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.plugins import hookimpl, load_plugins
from quotawarden.providers import copilot
from quotawarden.spec import ProviderSpec

CLAUDE_ACCESS = "sk-ant-oat01-" + "a" * 60
CLAUDE_REFRESH = "sk-ant-ort01-" + "r" * 60
CODEX_TOKEN = "eyJ" + "c" * 60
COPILOT_TOKEN = "gho_" + "g" * 36


@pytest.fixture(autouse=True)
def _hook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QW_HOOK_SECRET", "whsec-test-0123456789")


def _notices(webhook: Any) -> list[tuple[str, str]]:
    return [(b["event"], b["alert"]["key"]) for b in (orjson.loads(r["body"]) for r in webhook.requests)]


@contextmanager
def _service(tmp: Path, db_url: str, webhook: Any, account: str, plugins: Any = None) -> Iterator[Service]:
    config = tmp / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n' + account
                      + f'[[alerts.channels]]\nurl = "json://{webhook.url}/hook"\nhmac_secret = "env:QW_HOOK_SECRET"\n'
                      'severities = ["warning", "critical"]\n', encoding="utf-8")
    svc = build_service(config, store_url=db_url, plugins=plugins, clock=FixedClock(datetime.now(UTC)))
    try:
        yield svc
    finally:
        svc.close()


def _round(svc: Service) -> tuple[Outcome, list[str], list[str]]:
    """One daemon beat: a poll (past the provider's own probe floor, 3 min for Claude), then the alerts."""
    assert isinstance(svc.clock, FixedClock)
    svc.clock.advance(200)
    (result,) = svc.poll(force=True)
    ev = svc.evaluate_alerts(())
    svc.deliver_alerts()
    return result.outcome, ev.opened, ev.resolved


def _raised_once_then_resolved(svc: Service, webhook: Any, account_id: str, fix: Callable[[], None],
                               secrets: tuple[str, ...]) -> dict[str, Any]:
    key = f"auth_failure:{account_id}"
    outcome, opened, _ = _round(svc)
    assert outcome is Outcome.INVALID and opened == [key]
    for _ in range(2):  # the same refusal, polled again: the one alert is updated, never re-opened or re-sent
        outcome, opened, _ = _round(svc)
        assert outcome is Outcome.INVALID and opened == []
    (rec,) = [r for r in svc.actions.list() if r.alert.account_id == account_id]
    assert rec.key == key and rec.alert.kind == "auth_failure" and rec.alert.severity.value == "critical"
    assert not any(r.key.startswith("key_invalid:") for r in svc.actions.list())
    webhook.wait(1)
    assert _notices(webhook) == [("opened", key)]
    alert = {"message": rec.alert.message, "action": rec.alert.action}
    fix()
    outcome, opened, resolved = _round(svc)
    assert outcome is Outcome.OK and resolved == [key] and opened == []
    webhook.wait(2)
    assert _notices(webhook) == [("opened", key), ("resolved", key)]
    dumped = json.dumps(alert) + json.dumps([r["body"].decode() for r in webhook.requests])
    assert not any(s in dumped for s in secrets)
    return alert


def test_claude_expired_sign_in_that_cannot_be_refreshed(tmp_path: Path, db_url: str, webhook: Any) -> None:
    """The token expired and its refresh token is refused (``invalid_grant``); signing in again fixes it."""
    acct = EmuAccount("max", "claude", CLAUDE_ACCESS, {"5h": 1, "7d": 1}, {"5h": 0.3, "7d": 0.1},
                      extra={"expires_at": time.time() - 60, "refresh_token": "sk-ant-ort01-" + "x" * 60})
    creds = tmp_path / ".credentials.json"

    def write(access: str, refresh: str, expires: float) -> None:
        creds.write_text(json.dumps({"claudeAiOauth": {"accessToken": access, "refreshToken": refresh,
                                                       "expiresAt": int(expires * 1000)}}))

    write(CLAUDE_ACCESS, CLAUDE_REFRESH, time.time() - 60)
    with serve(create_app(Scenario([acct]))) as url, _service(
            tmp_path, db_url, webhook, f'[[accounts]]\nid = "max"\nprovider = "claude"\ncredential = "file:{creds}"\n'
                                       f'base_url = "{url}"\nrefresh = true\n') as svc:
        def sign_in_again() -> None:  # what `claude /login` does: a new refresh token the provider knows
            acct.extra["refresh_token"] = CLAUDE_REFRESH

        alert = _raised_once_then_resolved(svc, webhook, "max", sign_in_again, (CLAUDE_ACCESS, CLAUDE_REFRESH))
    assert "token refresh failed (HTTP 400" in alert["message"] and "sign-in" in alert["message"]
    assert alert["action"].startswith("the sign-in no longer works: sign in to Claude Code again")
    assert str(creds) in alert["action"]


def test_claude_expired_sign_in_without_refresh_says_why(tmp_path: Path, db_url: str, webhook: Any) -> None:
    acct = EmuAccount("pro", "claude", CLAUDE_ACCESS, {"5h": 1, "7d": 1}, {"5h": 0.3, "7d": 0.1},
                      extra={"expires_at": time.time() - 60})
    creds = tmp_path / "claude.json"
    creds.write_text(json.dumps({"claudeAiOauth": {"accessToken": CLAUDE_ACCESS, "refreshToken": CLAUDE_REFRESH,
                                                   "expiresAt": int((time.time() - 60) * 1000)}}))
    with serve(create_app(Scenario([acct]))) as url, _service(
            tmp_path, db_url, webhook, f'[[accounts]]\nid = "pro"\nprovider = "claude"\ncredential = "file:{creds}"\n'
                                       f'base_url = "{url}"\n') as svc:
        def renewed() -> None:  # Claude Code ran and renewed the token in its file
            acct.extra["expires_at"] = time.time() + 3600
            creds.write_text(json.dumps({"claudeAiOauth": {"accessToken": CLAUDE_ACCESS, "refreshToken": CLAUDE_REFRESH,
                                                           "expiresAt": int((time.time() + 3600) * 1000)}}))

        alert = _raised_once_then_resolved(svc, webhook, "pro", renewed, (CLAUDE_ACCESS, CLAUDE_REFRESH))
    assert "cannot be refreshed here (set refresh = true" in alert["message"]


def test_codex_refused_sign_in(tmp_path: Path, db_url: str, webhook: Any) -> None:
    acct = EmuAccount("plus", "codex", CODEX_TOKEN, {"5h": 100, "7d": 100}, {"5h": 12, "7d": 30})
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"tokens": {"access_token": "eyJ" + "z" * 60, "refresh_token": "rt-old"}}))
    with serve(create_app(Scenario([acct]))) as url, _service(
            tmp_path, db_url, webhook, f'[[accounts]]\nid = "plus"\nprovider = "codex"\ncredential = "file:{auth}"\n'
                                       f'base_url = "{url}"\n') as svc:
        def login() -> None:  # `codex login` rewrites auth.json
            auth.write_text(json.dumps({"tokens": {"access_token": CODEX_TOKEN, "refresh_token": "rt-new"}}))

        alert = _raised_once_then_resolved(svc, webhook, "plus", login, (CODEX_TOKEN, "z" * 30))
    assert "HTTP 401" in alert["message"] and "expired or revoked" in alert["message"]
    assert "`codex login`" in alert["action"]


def test_copilot_revoked_token(tmp_path: Path, db_url: str, webhook: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    acct = EmuAccount("seat-1", "copilot", COPILOT_TOKEN, {"premium": 300}, {"premium": 40})
    monkeypatch.setenv("QW_COPILOT_SEAT_1", "gho_" + "v" * 36)  # revoked
    with serve(create_app(Scenario([acct]))) as url, _service(
            tmp_path, db_url, webhook, f'[[accounts]]\nid = "seat-1"\nprovider = "copilot"\n'
                                       f'credential = "env:QW_COPILOT_SEAT_1"\nbase_url = "{url}"\n') as svc:
        alert = _raised_once_then_resolved(svc, webhook, "seat-1",
                                           lambda: monkeypatch.setenv("QW_COPILOT_SEAT_1", COPILOT_TOKEN),
                                           (COPILOT_TOKEN, "v" * 30))
    assert "Bad credentials" in alert["message"] and "QW_COPILOT_SEAT_1" in alert["action"]


class _GenericSignIn:
    """A provider that declares its credential a sign-in (``auth="oauth"``), as the Google ones do: nothing else in
    the alert rules knows it."""

    @hookimpl
    def register_providers(self, register: Callable[[ProviderSpec], None]) -> None:
        register(ProviderSpec(slug="acme_login", display_name="Acme sign-in", default_base_url="https://acme.invalid",
                              probe=copilot.probe, kind="subscription", auth="oauth"))


def test_any_provider_declaring_oauth_raises_auth_failure(tmp_path: Path, db_url: str, webhook: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    acct = EmuAccount("acme", "copilot", COPILOT_TOKEN, {"premium": 300}, {"premium": 40})
    monkeypatch.setenv("QW_ACME", "gho_" + "d" * 36)
    with serve(create_app(Scenario([acct]))) as url, _service(
            tmp_path, db_url, webhook, f'[[accounts]]\nid = "acme"\nprovider = "acme_login"\n'
                                       f'credential = "env:QW_ACME"\nbase_url = "{url}"\n',
            plugins=load_plugins([_GenericSignIn()])) as svc:
        alert = _raised_once_then_resolved(svc, webhook, "acme", lambda: monkeypatch.setenv("QW_ACME", COPILOT_TOKEN),
                                           (COPILOT_TOKEN, "d" * 30))
    assert alert["action"].startswith("the sign-in no longer works: sign in to acme_login again")


def test_an_api_key_stays_key_invalid(tmp_path: Path, db_url: str, webhook: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    acct = EmuAccount("oa", "openai", "sk-proj-" + "g" * 40, limits={"requests": 100})
    monkeypatch.setenv("QW_OA", "sk-proj-" + "x" * 40)
    with serve(create_app(Scenario([acct]))) as url, _service(
            tmp_path, db_url, webhook, f'[[accounts]]\nid = "oa"\nprovider = "openai"\ncredential = "env:QW_OA"\n'
                                       f'base_url = "{url}"\n') as svc:
        outcome, opened, _ = _round(svc)
    assert outcome is Outcome.INVALID and opened == ["key_invalid:oa"]


AG_REFRESH = {"user1@gmail.com": "1//0ag-user1-" + "k" * 40, "user2@gmail.com": "1//0ag-user2-" + "m" * 40}
GC_REFRESH, GC_ACCESS = "1//0gc-" + "q" * 40, "ya29.gc-" + "w" * 60


def _no_secret_in_cli(config: Path, db_url: str, account_id: str, secrets: tuple[str, ...]) -> None:
    """``poll --json`` and ``status --json`` of the real CLI while the sign-in is refused: the reason, no token."""
    env = {**os.environ, "QUOTAWARDEN_DB_URL": db_url}
    for args in (("poll", "--force", "-a", account_id, "--json"), ("status", "--json")):
        proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config),
                               *args], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode in (0, 1, 10), proc.stderr
        assert "token refresh rejected" in proc.stdout and "invalid_grant" in proc.stdout, args
        assert not any(x in proc.stdout + proc.stderr for x in secrets), args


def test_antigravity_revoked_refresh_token(tmp_path: Path, db_url: str, webhook: Any,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """One Google login of the OpenCode Antigravity plug-in's accounts file is revoked (``invalid_grant``): one
    alert for that login; signing in again resolves it."""
    caplog.set_level(logging.DEBUG)
    accounts = tmp_path / "antigravity-accounts.json"
    accounts.write_text(json.dumps({"version": 3, "accounts": [
        {"email": e, "refreshToken": t, "projectId": "emu-project", "enabled": True} for e, t in AG_REFRESH.items()]}))
    acct = EmuAccount("ag-user1", "antigravity_quota", AG_REFRESH["user1@gmail.com"],
                      {"gemini-3-pro-high": 1.0, "claude-sonnet-4-5": 1.0}, {"gemini-3-pro-high": 0.3},
                      extra={"project": "emu-project", "revoked": True})
    secrets = (*AG_REFRESH.values(), "ya29.emu")
    with serve(create_app(Scenario([acct]))) as url, _service(
            tmp_path, db_url, webhook, f'[[accounts]]\nid = "ag-user1"\nprovider = "antigravity_quota"\n'
                                       f'credential = "file:{accounts}#accounts[email=user1@gmail.com]"\n'
                                       f'base_url = "{url}"\n') as svc:
        def sign_in_again() -> None:  # `opencode auth login`: Google honours the refresh token again
            _no_secret_in_cli(tmp_path / "config.toml", db_url, "ag-user1", secrets)
            acct.extra["revoked"] = False

        alert = _raised_once_then_resolved(svc, webhook, "ag-user1", sign_in_again, secrets)
    assert "invalid_grant" in alert["message"] and "sign in to this Google account again" in alert["message"]
    assert alert["action"].startswith("the sign-in no longer works")
    assert not any(x in caplog.text for x in secrets)


def test_gemini_cli_revoked_refresh_token(tmp_path: Path, db_url: str, webhook: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """Gemini CLI's ``oauth_creds.json`` with an expired access token whose refresh token Google refuses."""
    caplog.set_level(logging.DEBUG)
    creds = tmp_path / "oauth_creds.json"
    creds.write_text(json.dumps({"access_token": GC_ACCESS, "refresh_token": GC_REFRESH, "token_type": "Bearer",
                                 "expiry_date": int((time.time() - 60) * 1000)}))
    acct = EmuAccount("gcli", "gemini_cli", GC_REFRESH, {"gemini-2.5-pro": 1.0, "gemini-2.5-flash": 1.0},
                      {"gemini-2.5-pro": 0.2}, extra={"revoked": True})
    secrets = (GC_REFRESH, GC_ACCESS, "ya29.emu")
    with serve(create_app(Scenario([acct]))) as url, _service(
            tmp_path, db_url, webhook, f'[[accounts]]\nid = "gcli"\nprovider = "gemini_cli"\n'
                                       f'credential = "file:{creds}"\nbase_url = "{url}"\n') as svc:
        def sign_in_again() -> None:  # `gemini` signs in again: the refresh token works
            _no_secret_in_cli(tmp_path / "config.toml", db_url, "gcli", secrets)
            acct.extra["revoked"] = False

        alert = _raised_once_then_resolved(svc, webhook, "gcli", sign_in_again, secrets)
    assert "invalid_grant" in alert["message"] and "gemini_cli" in alert["message"]
    assert not any(x in caplog.text for x in secrets)
