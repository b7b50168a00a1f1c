"""``quotawarden analyze ...`` as a person reads it at 80 columns: no line wider than the terminal, no number cut
short, ratios as percentages, every account of ``--json`` named in the text; plan advice looked up in the
account's own provider family (a ChatGPT "pro" is never Claude Pro)."""

from __future__ import annotations

import re

import orjson
import pytest
from typer.testing import CliRunner

from quotawarden.analysis import tiers
from quotawarden.app.service import Service
from quotawarden.interfaces.cli.app import build_app
from quotawarden.interfaces.cli.common import State
from tests.analysis.test_cli import COMMANDS

CAT = tiers.load_catalog()
CUT = re.compile(r"\d…|…\d|…")


def run80(svc: Service, *args: str) -> tuple[int, str]:
    state = State(None, None)
    state.service_factory = lambda: svc
    result = CliRunner().invoke(build_app(), list(args), obj=state, env={"COLUMNS": "80"})
    return result.exit_code, result.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_analyze_table_fits_80_columns_with_units(scripted: Service) -> None:
    for cmd in COMMANDS:
        code, out = run80(scripted, "analyze", cmd)
        assert code == 0, (cmd, out)
        wide = [line for line in out.splitlines() if len(line) > 80]
        assert not wide, (cmd, wide)
        assert not CUT.search(out), (cmd, out)
        assert "_ratio" not in out and "account_id" not in out, (cmd, out)  # headings are words, not field names
    _, burn = run80(scripted, "analyze", "burn")
    rows = orjson.loads(run80(scripted, "analyze", "burn", "--json")[1])
    shown = next(r for r in rows if r["used_ratio"] is not None)
    assert f"{shown['used_ratio'] * 100:.0f}%" in burn  # a ratio reads as a percentage


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_tiers_text_names_every_account_and_why(scripted: Service) -> None:
    _, text = run80(scripted, "analyze", "tiers")
    advice = orjson.loads(run80(scripted, "analyze", "tiers", "--json")[1])
    flat = " ".join(text.split())
    for a in advice:
        assert a["account_id"] in flat, a["account_id"]
        if a["current"] is not None:
            assert " ".join(a["rationale"].split()) in flat, a["rationale"]
    assert "no plan set" in flat  # accounts without a plan are named once, together, with what to set
    for a in advice:  # every confidence printed whole (a column cropped at the edge once hid them)
        if a["confidence"] is not None:
            assert f"{a['confidence'] * 100:.0f}%" in text, a
    assert "confidence" in text and "saving/month" in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_waste_before_any_reset_says_so(store_service: Service) -> None:
    code, text = run80(store_service, "analyze", "waste")
    assert code == 0
    assert "┏" not in text and "nothing to show" not in text  # no empty table
    assert "wasted overall: -" in text
    code, text = run80(store_service, "analyze", "anomalies")
    assert code == 0 and text.strip() == "anomalies: nothing to show"


@pytest.mark.parametrize(("provider", "plan", "expected"), [
    ("codex", "pro", "chatgpt-pro"), ("codex", "plus", "chatgpt-plus"), ("copilot", "pro", "copilot-pro"),
    ("claude", "pro", "claude-pro"), ("claude", "max20x", "claude-max-20x"), ("anthropic", "payg", "api"),
    ("codex", "payg", "api"), ("some_plugin", "pro", "claude-pro"), ("codex", "max20x", None),
])
def test_a_plan_is_read_in_its_providers_family(provider: str, plan: str, expected: str | None) -> None:
    found = tiers.plan_for(CAT, plan, provider)
    assert (found.id if found else None) == expected


def test_a_plan_name_not_in_the_catalog_is_named_not_called_unset() -> None:
    codex = tiers.advise("c", None, [], CAT, named="team", provider="codex")
    assert codex.rationale == "plan 'team' is not in the plan catalog (known: chatgpt-plus, chatgpt-pro)"
    unset = tiers.advise("a", None, [], CAT)
    assert unset.rationale.startswith("no plan set for this account")
