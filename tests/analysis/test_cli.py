"""`quotawarden analyze ...` and `quotawarden audit` over the scripted store."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from quotawarden.app.service import Service
from quotawarden.interfaces.cli.app import build_app
from quotawarden.interfaces.cli.common import State

COMMANDS = ["burn", "schedule", "weekly", "underspend", "rotation", "anomalies", "cost", "forecast", "tiers", "waste",
            "fairness"]


def run(svc: Service, *args: str) -> tuple[int, str]:
    state = State(None, None)
    state.service_factory = lambda: svc
    result = CliRunner().invoke(build_app(), list(args), obj=state)
    return result.exit_code, result.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_analyze_command_prints_a_table_and_json(scripted: Service) -> None:
    for cmd in COMMANDS:
        code, out = run(scripted, "analyze", cmd)
        assert code == 0, (cmd, out)
        code, out = run(scripted, "analyze", cmd, "--json")
        assert code == 0, (cmd, out)
        orjson.loads(out)
    _, out = run(scripted, "analyze", "fairness", "--json", "--anonymize", "--as", "bob-agent")
    names = {c["consumer"] for c in orjson.loads(out)["consumers"]}
    assert names == {"bob-agent", "consumer-1", "consumer-2"}
    _, out = run(scripted, "analyze", "burn", "--json")
    gem = next(r for r in orjson.loads(out) if r["account"] == "gemini-free")
    assert gem["burn_rate_per_hour"] == pytest.approx(0.05, rel=0.1)
    assert gem["projection"].startswith("reaches its 90% cap in")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("fmt", ["yaml", "json", "md"])
def test_audit_writes_one_file_per_day(scripted: Service, tmp_path: Path, fmt: str) -> None:
    code, out = run(scripted, "audit", "--out", str(tmp_path), "--format", fmt)
    assert code == 0, out
    path = tmp_path / f"account-audit-2026-08-20.{fmt}"
    text = path.read_text()
    if fmt == "yaml":
        data = yaml.safe_load(text)
        assert set(data) >= {"summary", "alerts", "account_details", "recommendations", "historical_trends"}
        assert data["account_details"][0]["windows"][0]["burn_rate_pct_per_hour"] is not None
    elif fmt == "json":
        assert orjson.loads(text)["summary"]["total_accounts"] == 5
    else:
        assert text.startswith("# Account audit 2026-08-20")
    assert "sk-" not in text


def test_audit_rejects_unknown_format(store_service: Service) -> None:
    code, _ = run(store_service, "audit", "--format", "xml")
    assert code == 2
