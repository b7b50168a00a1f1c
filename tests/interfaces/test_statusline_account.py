"""Claude Code's status-line readings land on the user's Claude account, under one name: the one configured
``claude`` account when there is exactly one, else ``claude`` (what ``accounts discover`` calls that login too),
registered so that ``status`` and ``summary`` show it. A real ``statusline`` process on both stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from quotawarden.app.service import Service
from quotawarden.clock import SystemClock
from quotawarden.config import from_text
from quotawarden.domain import CLAUDE_CODE_ACCOUNT
from quotawarden.interfaces.fast import statusline, summary
from quotawarden.plugins import load_plugins
from quotawarden.sources.discovery import claude_code
from quotawarden.store import quick

INPUT = (Path(__file__).parents[1] / "logs" / "fixtures" / "claude_code_statusline_input.json").read_bytes()


def _run(db_url: str, config: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "QUOTAWARDEN_STATUSLINE_ACCOUNT"}
    env |= {"QUOTAWARDEN_DB_URL": db_url, "QUOTAWARDEN_CONFIG": str(config)}
    p = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "statusline"], input=INPUT,
                       env=env, capture_output=True, timeout=60, check=True)
    return p.stdout.decode()


def _service(db_url: str, text: str) -> Service:
    plugins = load_plugins()
    return Service(config=from_text(text, None, plugins), plugins=plugins, clock=SystemClock(), store_url=db_url)


@pytest.mark.parametrize("configured", ["", '[[accounts]]\nid = "other"\nprovider = "openrouter"\n'])
def test_without_a_claude_account_the_readings_are_claude_and_shown(db_url: str, tmp_path: Path,
                                                                    configured: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(configured, encoding="utf-8")
    assert _run(db_url, cfg).startswith("Sonnet 4.5 | 5h 39%")
    svc = _service(db_url, configured)
    try:
        st = {s.account.id: s for s in svc.status()}
        assert {w.name for w in st[CLAUDE_CODE_ACCOUNT].windows} == {"5h", "7d"}
        assert st[CLAUDE_CODE_ACCOUNT].account.provider == "claude"
    finally:
        svc.close()
    lines, _, _ = summary.build(quick.load(str(cfg), db_url))
    assert CLAUDE_CODE_ACCOUNT in {ln.id for ln in lines}


def test_the_one_configured_claude_account_gets_the_readings(db_url: str, tmp_path: Path) -> None:
    text = '[[accounts]]\nid = "max-seat"\nprovider = "claude"\ncredential = "file:/nonexistent.json"\n'
    cfg = tmp_path / "config.toml"
    cfg.write_text(text, encoding="utf-8")
    _run(db_url, cfg)
    svc = _service(db_url, text)
    try:
        assert [a.id for a in svc.accounts()] == ["max-seat"]  # no second, unconfigured "claude"
        (st,) = svc.status()
        assert {w.name: w.sample.source.value for w in st.windows} == {"5h": "statusline", "7d": "statusline"}
    finally:
        svc.close()


def test_one_name_for_one_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert statusline.ACCOUNT == CLAUDE_CODE_ACCOUNT
    creds = tmp_path / ".claude" / ".credentials.json"
    creds.parent.mkdir()
    creds.write_text('{"claudeAiOauth": {"accessToken": "sk-ant-oat01-x", "scopes": ["user:profile"]}}')
    (found,) = claude_code(tmp_path, {})
    assert found.id == CLAUDE_CODE_ACCOUNT
    monkeypatch.delenv("QUOTAWARDEN_STATUSLINE_ACCOUNT", raising=False)
    two = {"accounts": [{"id": "a", "provider": "claude"}, {"id": "b", "provider": "claude"}]}
    assert statusline.account_for(two) == CLAUDE_CODE_ACCOUNT  # two seats: which one is logged in is unknown
    assert statusline.account_for({"accounts": [{"id": "a", "provider": "claude"}]}) == "a"
    monkeypatch.setenv("QUOTAWARDEN_STATUSLINE_ACCOUNT", "work")
    assert statusline.account_for({"accounts": [{"id": "a", "provider": "claude"}]}) == "work"
