"""antigravity and gemini_cli: real-capture fixtures through the parsers, then the whole flow (OAuth refresh,
loadCodeAssist, quota call) against the emulator over loopback, table-driven over numbers, resets, 401/403,
a revoked refresh token, 429 and a malformed body; no token in any outcome; discovery by reference."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.clock import FixedClock
from quotawarden.credentials import resolve
from quotawarden.domain import Account, Outcome, Unit
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.plugins import load_plugins
from quotawarden.providers import antigravity, gemini_cli
from quotawarden.providers._quota import SampleSet
from quotawarden.sources.discovery import discover
from quotawarden.sources.probe_runner import ProbeJob, ProbeResult, ProbeRunner
from tests.conftest import NOW

HERE = Path(__file__).parent
PLUGINS = load_plugins()
R1 = datetime(2026, 8, 20, 19, 0, tzinfo=UTC)
R2 = datetime(2026, 8, 21, 7, 0, tzinfo=UTC)


def _fixture(*parts: str) -> dict[str, Any]:
    data = orjson.loads(HERE.joinpath(*parts).read_bytes())
    assert isinstance(data, dict)
    return data


def test_antigravity_capture_excerpt() -> None:
    now = datetime(2026, 8, 5, 0, 35, 38, tzinfo=UTC)  # the capture's Date header
    out = SampleSet("a", now)
    details = antigravity.parse_models(out, _fixture("antigravity", "fetch_available_models_capture_excerpt.json"))
    [s] = out.samples  # the model without quotaInfo is not a window
    assert s.unit is Unit.PERCENT and s.used_ratio == pytest.approx(1 - 0.7829875)
    assert s.resets_at == datetime(2026, 8, 5, 2, 38, 57, tzinfo=UTC)
    assert details["exhausted_models"] == []


def test_antigravity_codexbar_body() -> None:
    out = SampleSet("a", datetime(2026, 3, 24, tzinfo=UTC))
    details = antigravity.parse_models(out, _fixture("antigravity", "fetch_available_models_codexbar.json"))
    got = {s.window: s.used_ratio for s in out.samples}
    assert got == {"claude-sonnet-4-5": pytest.approx(0.25), "gemini-3-pro-high": pytest.approx(0.5)}
    assert details["models"]["gemini-3-pro-high"] == "Gemini 3 Pro"


def test_gemini_cli_issue_payload() -> None:
    out = SampleSet("g", datetime(2025, 12, 10, 12, tzinfo=UTC))
    gemini_cli.parse_buckets(out, _fixture("gemini_cli", "retrieve_user_quota_issue14883.json"))
    [s] = out.samples
    assert s.window == "gemini-3-pro-preview" and s.used_ratio == pytest.approx(1 - 0.76175)
    assert s.resets_at == datetime(2025, 12, 10, 22, 19, 52, tzinfo=UTC)


def test_accounts_file_reference_selects_by_email(tmp_path: Path) -> None:
    path = tmp_path / "antigravity-accounts.json"
    shutil.copy(HERE / "antigravity" / "antigravity-accounts.json", path)
    entry = resolve(f"file:{path}#accounts[email=user2@gmail.com]")
    login = antigravity.login_from(entry, None)
    assert login.refresh_token == "1//0xyz-REDACTED-user2" and login.email == "user2@gmail.com"
    assert antigravity.login_from(path.read_text(), "user1@gmail.com").project == "my-gcp-project"
    assert antigravity.login_from("1//tok|proj|managed", None).project == "managed"
    assert "1//" not in repr(login)


# --------------------------------------------------------------------------------------------------- loopback
MODELS = {"gemini-3-pro-high": 0.3, "claude-sonnet-4-5": 0.9}
PROJECT = "zinc-cell-emu01"


def _token(slug: str, tag: str) -> str:
    return f"1//0{slug}-{tag}-refresh-token-0123456789abcdefghijklmnop"


# tag -> (knobs, expected outcome); every tag runs for both providers
CASES: dict[str, tuple[dict[str, Any], Outcome]] = {
    "healthy": ({"used": MODELS, "resets": {"gemini-3-pro-high": R1, "claude-sonnet-4-5": R2}}, Outcome.OK),
    "low": ({"used": {"gemini-3-pro-high": 0.95, "claude-sonnet-4-5": 0.1}}, Outcome.OK),
    "one_exhausted": ({"used": {"gemini-3-pro-high": 1.0, "claude-sonnet-4-5": 0.2},
                       "resets": {"gemini-3-pro-high": R1}}, Outcome.OK),
    "all_exhausted": ({"used": {"gemini-3-pro-high": 1.0, "claude-sonnet-4-5": 1.0},
                       "resets": {"gemini-3-pro-high": R1, "claude-sonnet-4-5": R2}}, Outcome.LIMITED),
    "revoked": ({"used": MODELS, "extra": {"revoked": True}}, Outcome.INVALID),
    "401": ({"used": MODELS, "fault": "401"}, Outcome.INVALID),
    "403": ({"used": MODELS, "fault": "403"}, Outcome.INVALID),
    "429": ({"used": MODELS, "fault": "429"}, Outcome.ERROR),
    "malformed": ({"used": MODELS, "fault": "malformed"}, Outcome.ERROR),
}
SLUGS = ("antigravity_quota", "gemini_cli")


def _secret(slug: str, tag: str) -> str:
    if slug == "antigravity_quota":  # one account entry, as file:...#accounts[email=...] hands it over
        return orjson.dumps({"email": f"{tag}@gmail.com", "refreshToken": _token(slug, tag)}).decode()
    return orjson.dumps({"access_token": "ya29.stale-" + tag, "refresh_token": _token(slug, tag),
                         "expiry_date": 1_000_000_000_000}).decode()  # expired: the probe refreshes first


@pytest.fixture(scope="module")
def results() -> dict[str, ProbeResult]:
    accts = []
    for slug in SLUGS:
        for tag, (knobs, _) in CASES.items():
            extra = {"project": PROJECT, **knobs.get("extra", {})}
            accts.append(EmuAccount(f"{slug}-{tag}", slug, _token(slug, tag), limits=dict.fromkeys(MODELS, 1.0),
                                    used=knobs["used"], resets=knobs.get("resets", {}), fault=knobs.get("fault"),
                                    extra=extra))
    scenario = Scenario(accts, start=NOW)
    with serve(create_app(scenario, FixedClock(NOW))) as url:
        jobs = []
        for a in accts:
            spec = PLUGINS.provider(a.provider)
            assert spec.settings_model is not None
            jobs.append(ProbeJob(spec, Account(a.id, a.provider, base_url=url), _secret(a.provider, a.id.split(
                "-", 1)[1]), spec.settings_model()))
        out = asyncio.run(ProbeRunner(FixedClock(NOW), backoff=0.01, timeout=5, tries=1).run_many(jobs))
    return {r.account_id: r for r in out}


@pytest.mark.parametrize("tag", sorted(CASES))
@pytest.mark.parametrize("slug", SLUGS)
def test_outcomes_and_no_secret(results, slug, tag) -> None:
    r = results[f"{slug}-{tag}"]
    assert r.outcome is CASES[tag][1], r.reason
    text = orjson.dumps({"reason": r.reason, "details": r.details, "rejected": r.rejected}).decode()
    assert "1//0" not in text and "ya29." not in text and "GOCSPX" not in text
    if r.outcome is not Outcome.OK:
        assert r.reason and "\n" not in r.reason


@pytest.mark.parametrize("slug", SLUGS)
def test_numbers_units_resets(results, slug) -> None:
    r = results[f"{slug}-healthy"]
    got = {s.window: s for s in r.samples if s.window in MODELS or "_" not in s.window}  # not the family pools
    assert set(got) == set(MODELS)
    for model, used in MODELS.items():
        assert got[model].unit is Unit.PERCENT and got[model].used_ratio == pytest.approx(used)
    assert got["gemini-3-pro-high"].resets_at == R1 and got["claude-sonnet-4-5"].resets_at == R2
    assert r.details["project"] == PROJECT
    # /token, loadCodeAssist, the quota call (and Antigravity's family pools): all through base_url
    assert r.cost.requests == (4 if slug == "antigravity_quota" else 3)


@pytest.mark.parametrize("slug", SLUGS)
def test_exhausted_model_is_model_scoped(results, slug) -> None:
    one = results[f"{slug}-one_exhausted"]
    assert one.details["exhausted_models"] == ["gemini-3-pro-high"]
    assert {s.window: s.used_ratio for s in one.samples}["gemini-3-pro-high"] == 1.0
    every = results[f"{slug}-all_exhausted"]
    assert every.retry_at is not None and every.retry_at >= R1 and "used up" in every.reason


@pytest.mark.parametrize("slug", SLUGS)
def test_revoked_refresh_token_says_why(results, slug) -> None:
    r = results[f"{slug}-revoked"]
    assert "invalid_grant" in r.reason and "Token has been expired or revoked" in r.reason
    assert "sign in" in r.reason
    assert "rejected" in results[f"{slug}-401"].reason


# --------------------------------------------------------------------------------------------------- discovery
def lay_out_home(home: Path) -> None:
    """A home as a user of OpenCode + the Antigravity plug-in (two Google accounts) and Gemini CLI has it."""
    cfg = home / ".config" / "opencode"
    cfg.mkdir(parents=True)
    shutil.copy(HERE / "antigravity" / "antigravity-accounts.json", cfg / "antigravity-accounts.json")
    (home / ".gemini").mkdir()
    shutil.copy(HERE / "gemini_cli" / "oauth_creds.json", home / ".gemini" / "oauth_creds.json")
    (home / ".gemini" / "settings.json").write_text('{"security": {"auth": {"selectedType": "oauth-personal"}}}')
    data = home / ".local" / "share" / "opencode"
    data.mkdir(parents=True)
    (data / "auth.json").write_text(orjson.dumps({"openrouter": {"type": "api", "key": "sk-or-v1-REDACTED"}}).decode())


def test_discovery_finds_each_google_login_by_reference(tmp_path: Path) -> None:
    lay_out_home(tmp_path)
    found = {f.id: f for f in discover(PLUGINS.providers.values(), env={"HOME": str(tmp_path)}, home=tmp_path)}
    accounts = tmp_path / ".config" / "opencode" / "antigravity-accounts.json"
    assert found["antigravity:user1@gmail.com"].credential == f"file:{accounts}#accounts[email=user1@gmail.com]"
    assert found["antigravity:user2@gmail.com"].notes == ["disabled in the plug-in"]
    assert found["gemini-cli:me@example.com"].credential == f"file:{tmp_path}/.gemini/oauth_creds.json"
    assert found["gemini-cli:me@example.com"].provider == "gemini_cli"
    assert "opencode-openrouter" in found
    text = orjson.dumps([f.as_json() for f in found.values()]).decode()
    assert "REDACTED" not in text  # references only
