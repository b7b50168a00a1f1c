"""Model-scoped weekly caps (Claude's ``7d_opus``/``7d_sonnet``) on every surface, not only in ``--json``: the
``status`` table, ``summary`` (text and JSON), ``statusline``, the dashboard's account page, the planner (``next``)
and the alerts. One model's exhausted cap is that model's problem: the window is RED, the account YELLOW (its other
models still answer), its alert a warning that says so. SQLite and PostgreSQL; the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.domain import QuotaSample, Source, Unit, scoped_window, window_scope
from quotawarden.interfaces.web.dashboard import DashboardServer
from quotawarden.plugins import load_plugins
from quotawarden.store import samples as samples_q

CONFIG = '[[accounts]]\nid = "work"\nprovider = "claude"\ncredential = "env:QW_NEVER_SET_TOKEN"\n'


def _seed(svc: Service, now: datetime) -> None:
    svc.accounts()
    at = now - timedelta(minutes=2)

    def w(name: str, ratio: float, reset: timedelta, length: int) -> QuotaSample:
        return QuotaSample(at, "work", name, Unit.PERCENT, Source.PROBE, used_ratio=ratio, resets_at=now + reset,
                           window_length_s=length)

    samples_q.write_samples(svc.store, [
        w("5h", 0.2, timedelta(hours=3), 18000), w("7d", 0.4, timedelta(days=3), 604800),
        w(scoped_window("7d", "Opus"), 1.0, timedelta(days=3), 604800),
        w(scoped_window("7d", "Sonnet"), 0.6, timedelta(days=3), 604800)])


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> tuple[Path, str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    plugins = load_plugins()
    svc = Service(config=from_text(CONFIG, None, plugins), plugins=plugins,
                  clock=FixedClock(datetime.now(UTC).replace(microsecond=0)), store_url=db_url)
    try:
        _seed(svc, svc.now())
    finally:
        svc.close()
    return cfg, db_url


def _cli(world: tuple[Path, str], *args: str, stdin: str = "") -> str:
    cfg, db_url = world
    proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", *args], input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QUOTAWARDEN_CONFIG": str(cfg), "QUOTAWARDEN_DB_URL": db_url,
                               "COLUMNS": "120", "QUOTAWARDEN_STATUSLINE_ACCOUNT": "work"})
    assert proc.returncode in (0, 10), proc.stderr
    return proc.stdout


def test_names() -> None:
    assert scoped_window("7d", "Opus") == "7d_opus" and window_scope("7d_opus") == "opus"
    assert window_scope("7d") is None and window_scope("extra_usage") is None


def test_status_table_lists_each_models_cap_and_the_account_stays_usable(world: tuple[Path, str]) -> None:
    out = _cli(world, "status")
    rows = {line.split()[-6] if line.startswith("work") else line.split()[0]: line for line in out.splitlines()
            if "%" in line}
    assert "100%" in rows["7d_opus"] and "RED" in rows["7d_opus"]
    assert "60%" in rows["7d_sonnet"] and "YELLOW" in rows["7d_sonnet"]
    assert "Overall: 0 RED, 1 YELLOW" in out  # one model used up: the account still answers


def test_summary_names_the_model_caps_after_the_worst_window(world: tuple[Path, str]) -> None:
    line = next(x for x in _cli(world, "summary").splitlines() if "work (claude)" in x)
    assert line.startswith("▲ YELLOW") and line.endswith("; 7d_opus 100% (2d23h), 7d_sonnet 60% (2d23h)")
    data = json.loads(_cli(world, "summary", "--json"))
    (acct,) = data["accounts"]
    assert [(c["window"], c["scope"], c["ratio"]) for c in acct["scoped_caps"]] == \
        [("7d_opus", "opus", 1.0), ("7d_sonnet", "sonnet", 0.6)]
    assert "work" not in data["avoid"]
    assert _cli(world, "summary", "--format", "{id}: {models}").strip().endswith(
        "work: 7d_opus 100% (2d23h), 7d_sonnet 60% (2d23h)")


def test_statusline_shows_the_model_caps(world: tuple[Path, str]) -> None:
    line = _cli(world, "statusline").strip()
    assert "| 5h 20% (" in line and "| 7d 40% (" in line
    assert "| 7d_opus 100% (2d23h) | 7d_sonnet 60% (2d23h)" in line


def test_dashboard_account_page_and_planner_see_them(world: tuple[Path, str]) -> None:
    db_url = world[1]
    plugins = load_plugins()
    svc = Service(config=from_text(CONFIG, None, plugins), plugins=plugins,
                  clock=FixedClock(datetime.now(UTC).replace(microsecond=0)), store_url=db_url)
    try:
        with DashboardServer(svc) as base:
            page = httpx.get(base + "/accounts/work").text
        assert "7d_opus" in page and "7d_sonnet" in page
        (alert,) = [a for a in svc.actions.candidates() if a.window == "7d_opus"]
        assert alert.severity.value == "warning" and "other models still answer" in alert.action
    finally:
        svc.close()
    plan = json.loads(_cli(world, "next", "--json"))
    assert plan["account"] == "work" and not plan["skipped"]  # one model's cap: the other models still answer
    world[0].write_text(CONFIG + '[planner.tasks.opus]\nmodels = { claude = "claude-opus-4-1" }\n', encoding="utf-8")
    opus = json.loads(_cli(world, "next", "--task", "opus", "--json"))  # the planner weighs the cap by its name
    assert opus["account"] is None and [s["account"] for s in opus["skipped"]] == ["work"]
    assert opus["skipped"][0]["reason"].startswith("7d_opus at its hard cap: ")
