"""Antigravity's family pools (``retrieveUserQuotaSummary``): each family's weekly and five-hour bucket as a
model-scoped window, next to the per-model quotas; a used-up family week is that family's, not the account's; an
account without the endpoint keeps its per-model reading. The reconstructed body of
``antigravity/retrieve_user_quota_summary_issue3876.json`` through the parser, then the whole probe over loopback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.analysis.planner import applies
from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Outcome, Unit, window_scope
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.plugins import load_plugins
from quotawarden.providers import antigravity
from quotawarden.providers._quota import SampleSet
from quotawarden.sources.probe_runner import ProbeJob, ProbeRunner
from tests.conftest import NOW

HERE = Path(__file__).parent
PLUGINS = load_plugins()
MODELS = {"gemini-3-pro-high": 0.3, "claude-sonnet-4-5": 0.2}


def test_the_summary_body_becomes_family_windows() -> None:
    out = SampleSet("a", datetime(2026, 6, 17, 8, tzinfo=UTC))
    body = orjson.loads((HERE / "antigravity" / "retrieve_user_quota_summary_issue3876.json").read_bytes())
    assert antigravity.parse_summary(out, body) == ["7d_gemini", "5h_gemini", "7d_claude_and_gpt", "5h_claude_and_gpt"]
    got = {s.window: s for s in out.samples}
    assert got["7d_gemini"].used_ratio == pytest.approx(1 - 0.95554763) and got["7d_gemini"].window_length_s == 604800
    assert got["7d_gemini"].resets_at == datetime(2026, 6, 23, 7, 50, 22, tzinfo=UTC)
    assert got["5h_claude_and_gpt"].used_ratio == pytest.approx(1 - 0.7015) and got["5h_gemini"].used_ratio == 0
    assert got["7d_claude_and_gpt"].used_ratio == 1.0  # no remainingFraction: none left (proto3 leaves zeros out)
    assert all(s.unit is Unit.PERCENT for s in out.samples)
    assert window_scope("7d_claude_and_gpt") == "claude_and_gpt"
    assert applies("7d_claude_and_gpt", "claude-opus-4-5") and applies("7d_claude_and_gpt", "gpt-oss-120b")
    assert not applies("7d_claude_and_gpt", "gemini-3-pro-high") and applies("7d_gemini", "gemini-3-flash")
    bad = SampleSet("a", NOW)
    assert antigravity.parse_summary(bad, {"groups": [{"displayName": "Gemini Models", "buckets": [
        {"window": "weekly", "remainingFraction": 1.7}]}]}) == [] and bad.rejected


def _probe(extra: dict[str, Any]) -> Any:
    acct = EmuAccount("ag", "antigravity_quota", "1//0ag-" + "x" * 40, limits=dict.fromkeys(MODELS, 1.0), used=MODELS,
                      extra={"project": "emu-project", **extra})
    spec = PLUGINS.provider("antigravity_quota")
    assert spec.settings_model is not None
    secret = orjson.dumps({"email": "me@gmail.com", "refreshToken": acct.credential, "projectId": "emu-project"})
    with serve(create_app(Scenario([acct], start=NOW), FixedClock(NOW))) as url:
        job = ProbeJob(spec, Account("ag", "antigravity_quota", base_url=url), secret.decode(), spec.settings_model())
        (result,) = asyncio.run(ProbeRunner(FixedClock(NOW), backoff=0.01, timeout=5, tries=1).run_many([job]))
    return result


def test_a_used_up_family_week_is_that_familys() -> None:
    r = _probe({"families": {"Claude and GPT models": {"weekly": 1.0}, "Gemini Models": {"weekly": 0.4}}})
    assert r.outcome is Outcome.OK, r.reason  # the Gemini models still answer
    got = {s.window: s.used_ratio for s in r.samples}
    assert got["7d_claude_and_gpt"] == 1.0 and got["7d_gemini"] == pytest.approx(0.4)
    assert got["claude-sonnet-4-5"] == pytest.approx(0.2)  # the per-model view alone would look fine
    assert r.details["quota_summary"] == ["7d_gemini", "5h_gemini", "7d_claude_and_gpt", "5h_claude_and_gpt"]
    assert r.cost.requests == 3  # /token, fetchAvailableModels, retrieveUserQuotaSummary (the project is known)


@pytest.mark.parametrize("status", ["404", "403", "500"])
def test_without_the_summary_the_per_model_reading_stands(status: str) -> None:
    r = _probe({"summary_status": status})
    assert r.outcome is Outcome.OK, r.reason
    assert {s.window for s in r.samples} == set(MODELS)
    assert r.details["quota_summary"].startswith("not available") and f"HTTP {status}" in r.details["quota_summary"]
    assert "1//0" not in orjson.dumps(r.details).decode()
