"""Antigravity's per-model quotas are model-scoped caps on every surface, like Claude's ``7d_opus``
(tests/interfaces/test_scoped_caps.py): one used-up model shows in ``status``, ``summary`` (text and ``scoped_caps``
in JSON), ``statusline`` and the dashboard's account page, the account stays YELLOW and usable, and the planner
skips it only for a task on that model. SQLite and PostgreSQL; the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.domain import QuotaSample, Source, Unit
from quotawarden.interfaces.web.dashboard import DashboardServer
from quotawarden.plugins import load_plugins
from quotawarden.store import samples as samples_q

CONFIG = '[[accounts]]\nid = "ag"\nprovider = "antigravity_quota"\ncredential = "env:QW_NEVER_SET_TOKEN"\n'
SONNET, GEMINI = "claude-sonnet-4-5", "gemini-3-pro-high"


def _cli(cfg: Path, db_url: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", *args], input="",
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QUOTAWARDEN_CONFIG": str(cfg), "QUOTAWARDEN_DB_URL": db_url,
                               "COLUMNS": "160", "QUOTAWARDEN_STATUSLINE_ACCOUNT": "ag"})
    assert proc.returncode in (0, 10), proc.stderr
    return proc.stdout


def test_one_used_up_model_on_every_surface(tmp_path: Path, db_url: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    plugins = load_plugins()
    now = datetime.now(UTC).replace(microsecond=0)
    svc = Service(config=from_text(CONFIG, None, plugins), plugins=plugins, clock=FixedClock(now), store_url=db_url)
    try:
        svc.accounts()

        def model(name: str, ratio: float, hours: int) -> QuotaSample:
            return QuotaSample(now - timedelta(minutes=2), "ag", name, Unit.PERCENT, Source.PROBE, used_ratio=ratio,
                               resets_at=now + timedelta(hours=hours))

        samples_q.write_samples(svc.store, [model(SONNET, 1.0, 3), model(GEMINI, 0.3, 5)])
        with DashboardServer(svc) as base:
            page = httpx.get(base + "/accounts/ag", timeout=30).text
        assert SONNET in page and GEMINI in page
    finally:
        svc.close()

    status = _cli(cfg, db_url, "status").splitlines()
    sonnet = next(line for line in status if SONNET in line and "100%" in line)
    gemini = next(line for line in status if GEMINI in line and "30%" in line)
    assert "RED" in sonnet and "GREEN" in gemini
    assert any(line.startswith("Overall: 0 RED, 1 YELLOW") for line in status)

    data = json.loads(_cli(cfg, db_url, "summary", "--json"))
    (acct,) = data["accounts"]
    assert acct["status"] == "YELLOW" and data["use"] == ["ag"] and data["avoid"] == []
    assert [(c["window"], c["ratio"]) for c in acct["scoped_caps"]] == [(SONNET, 1.0), (GEMINI, 0.3)]
    text = _cli(cfg, db_url, "summary")
    assert f"{SONNET} 100% (2h59m)" in text and f"{GEMINI} 30% (4h59m)" in text
    assert f"| {SONNET} 100% (2h59m) | {GEMINI} 30% (4h59m) |" in _cli(cfg, db_url, "statusline")

    plan = json.loads(_cli(cfg, db_url, "next", "--json"))
    assert (plan["account"], plan["window"]) == ("ag", GEMINI) and not plan["skipped"]
    cfg.write_text(CONFIG + f'[planner.tasks.heavy]\nmodels = {{ antigravity_quota = "{SONNET}" }}\n', encoding="utf-8")
    on_sonnet = json.loads(_cli(cfg, db_url, "next", "--task", "heavy", "--json"))
    assert on_sonnet["account"] is None
    assert [(s["account"], s["reason"].split(" at ")[0]) for s in on_sonnet["skipped"]] == [("ag", SONNET)]
