"""Readings from several sources end as one reading per window in ``status --json``; provider anomalies are found,
stored once, alerted once, exported by ``quotawarden evidence`` (the real entry point) and listed on the account
page (over loopback HTTP), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.domain import AccountState, Outcome, Source
from quotawarden.plugins import load_plugins
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from tests.analysis.recorded import header_samples, moved, probe_samples
from tests.conftest import NOW

CONFIG = """
[[accounts]]
id = "c1"
provider = "claude"

[[accounts]]
id = "c2"
provider = "claude"
"""
KEY = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz1234"


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    """On the wall clock (to the second), so the CLI subprocess reads the same time."""
    now = datetime.now(UTC).replace(microsecond=0)
    plugins = load_plugins()
    svc = Service(config=from_text(CONFIG, None, plugins), plugins=plugins, clock=FixedClock(now), store_url=db_url)
    # the recorded answers are parsed at their own time, then moved (resets too) to the wall clock
    shift = (now - NOW).total_seconds()
    proxy = {w: moved(s, now, reset_shift_s=shift)
             for w, s in header_samples("anthropic_unified_headers.txt", "c1", NOW).items()}
    probe = {w: moved(s, now, reset_shift_s=shift)
             for w, s in probe_samples("claude", "anthropic_oauth_usage.json", "c1", NOW).items()}
    base = proxy["5h"]
    jump = [moved(base, now - timedelta(minutes=m), r) for m, r in ((30, 0.20), (29, 0.21), (27, 0.40))]
    samples_q.write_samples(svc.store, [
        *jump,
        moved(base, now - timedelta(seconds=30), 0.47),  # the proxy's header reading...
        moved(probe["5h"], now - timedelta(minutes=2), 0.42),  # ...and the probe's, 5 points apart
        moved(proxy["7d"], now - timedelta(seconds=30)), moved(probe["7d"], now - timedelta(minutes=2)),
        *[replace(s, account_id="c2", observed_at=now - timedelta(minutes=1)) for s in proxy.values()],
    ])
    accounts_q.set_states(svc.store, [AccountState("c2", Outcome.LIMITED, f"upstream answered 429 ({KEY})", now)])
    try:
        yield svc
    finally:
        svc.close()


def test_status_windows_carry_their_sources_and_the_disagreement(service: Service) -> None:
    report = service.status_report(["c1"])
    w = {x["name"]: x for x in report["accounts"][0]["windows"]}
    five = w["5h"]
    assert (five["used_ratio"], five["source"], five["disagreement"]) == (0.47, "proxy", True)
    assert [(s["source"], s["value"]) for s in five["sources"]] == [("proxy", 0.47), ("probe", 0.42)]
    assert w["7d"]["disagreement"] is False and [s["source"] for s in w["7d"]["sources"]] == ["proxy", "probe"]


def test_anomalies_are_stored_once_and_alerted_once(service: Service) -> None:
    found = service.detect_provider_anomalies()
    assert sorted(a.kind for a in found) == ["jump", "limited_below_cap"]
    assert service.detect_provider_anomalies() == []  # found again, stored nothing new
    stored = service.provider_anomalies()
    assert len(stored) == 2 and all(a.detected_at is not None for a in stored)
    assert service.provider_anomalies("c1")[0].kind == "jump"
    assert KEY not in json.dumps([a.evidence for a in stored]) + " ".join(a.message for a in stored)

    findings, kinds = service.analysis_findings()
    assert "provider_anomaly" in kinds
    assert len([f for f in findings if f.kind == "provider_anomaly"]) == 2
    first = service.evaluate_alerts(findings, kinds)
    opened = [r for r in service.actions.list() if r.alert.kind == "provider_anomaly"]
    assert len(opened) == 2 and all(r.pending_notice == "opened" for r in opened)
    service.evaluate_alerts(*service.analysis_findings())  # the same anomalies: the same two alerts
    assert len([r for r in service.actions.list() if r.alert.kind == "provider_anomaly"]) == 2
    assert first is not None


def _cli(db_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config),
                           "--db", db_url, *args], capture_output=True, text=True, timeout=120, env=env)


def test_evidence_command_exports_json_and_markdown(service: Service, db_url: str, tmp_path: Path) -> None:
    service.detect_provider_anomalies()
    out = _cli(db_url, tmp_path, "evidence", "--json", "--since", "1d")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert sorted(a["kind"] for a in data["anomalies"]) == ["jump", "limited_below_cap"]
    jump = next(a for a in data["anomalies"] if a["kind"] == "jump")
    assert jump["evidence"]["before"]["used_ratio"] == 0.20 and jump["evidence"]["after"]["used_ratio"] == 0.40
    assert KEY not in out.stdout

    md = _cli(db_url, tmp_path, "evidence", "c2")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Provider anomalies: account `c2`")
    assert "## Refused below the limit: `c2`" in md.stdout and "```json" in md.stdout and "jump" not in md.stdout
    assert KEY not in md.stdout
    assert _cli(db_url, tmp_path, "evidence", "--markdown", "--since", "2000-01-01").stdout.count("\n## ") == 2

    later = _cli(db_url, tmp_path, "evidence", "--json", "--since", "2999-01-01")
    assert json.loads(later.stdout)["anomalies"] == []
    bad = _cli(db_url, tmp_path, "evidence", "--since", "yesterday-ish")
    assert bad.returncode == 2 and "--since" in bad.stderr
    assert _cli(db_url, tmp_path, "evidence", "nobody").returncode == 2


def test_the_account_page_lists_its_anomalies(service: Service) -> None:
    from quotawarden.interfaces.web.dashboard import DashboardServer

    service.detect_provider_anomalies()
    with DashboardServer(service) as base:
        page = httpx.get(f"{base}/accounts/c1", timeout=30)
        other = httpx.get(f"{base}/accounts/c2", timeout=30)
    assert page.status_code == 200 and "Provider anomalies" in page.text
    assert "Unexplained jump" in page.text and "quotawarden evidence c1" in page.text
    assert "Refused below the limit" in other.text and "Unexplained jump" not in other.text
    assert KEY not in other.text.split('id="h-anom"')[1]  # the anomaly's reason is redacted
    assert Source.PROXY.value in page.text
