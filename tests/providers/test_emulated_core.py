"""anthropic, claude, codex, openai, gemini and the two admin APIs against the emulator over real loopback HTTP,
through the probe runner: parsed numbers and units equal the fixture values the emulator was set to, and
401/403, 429 and a malformed body become explicit outcomes whose reasons never hold the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Outcome, Unit
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.plugins import load_plugins
from quotawarden.sources.probe_runner import ProbeJob, ProbeResult, ProbeRunner
from tests.conftest import NOW

PLUGINS = load_plugins()
H5 = datetime(2026, 8, 20, 17, 0, tzinfo=UTC)
D7 = datetime(2026, 8, 24, 9, 0, tzinfo=UTC)
PREFIX = {"anthropic": "sk-ant-api03-", "claude": "sk-ant-oat01-", "codex": "eyJhbGciOiJSUzI1NiJ9-",
          "openai": "sk-proj-", "gemini": "AIzaSy", "anthropic_admin": "sk-ant-admin01-", "openai_admin": "sk-admin-"}
SETTINGS: dict[str, dict[str, Any]] = {"gemini": {"probe": "generate", "rpm_limit": 10, "rpd_limit": 250}}


def key(slug: str, tag: str) -> str:
    return f"{PREFIX[slug]}{tag}-0123456789abcdefghijklmnopqrstuv"


# slug -> (emulated account knobs, expected {window: (unit, used_ratio, remaining, limit, resets_at)}; None = skip)
CASES: dict[str, tuple[dict[str, Any], dict[str, tuple[Any, ...]]]] = {
    "anthropic": ({"limits": {"requests": 1000, "tokens": 2_400_000, "input-tokens": 2_000_000,
                              "output-tokens": 400_000},
                   "used": {"requests": 2, "tokens": 14_000, "input-tokens": 13_000, "output-tokens": 1000}},
                  {"rpm": (Unit.REQUESTS, None, 997, 1000, None),
                   "tpm": (Unit.TOKENS, None, 2_386_000, 2_400_000, None),
                   "itpm": (Unit.TOKENS, None, 1_987_000, 2_000_000, None),
                   "otpm": (Unit.TOKENS, None, 399_000, 400_000, None)}),
    "claude": ({"limits": {"5h": 1, "7d": 1, "7d_opus": 1, "7d_sonnet": 1},
                "used": {"5h": 0.42, "7d": 0.18, "7d_opus": 0.03, "7d_sonnet": 0.11},
                "resets": {"5h": H5, "7d": D7, "7d_opus": D7, "7d_sonnet": D7},
                "extra": {"overage": "allowed", "overage_used": 0.255}},
               {"5h": (Unit.PERCENT, 0.42, None, None, H5), "7d": (Unit.PERCENT, 0.18, None, None, D7),
                "7d_opus": (Unit.PERCENT, 0.03, None, None, D7), "7d_sonnet": (Unit.PERCENT, 0.11, None, None, D7),
                "extra_usage": (Unit.USD, 0.255, None, 50.0, None)}),
    "codex": ({"limits": {"5h": 100, "7d": 100}, "used": {"5h": 26, "7d": 42}, "resets": {"5h": H5, "7d": D7}},
              {"5h": (Unit.PERCENT, 0.26, None, None, H5), "7d": (Unit.PERCENT, 0.42, None, None, D7)}),
    # the probe itself spends 8 tokens (7 in, 1 out): 1228 + 8 = the fixture's 1236 used
    "openai": ({"limits": {"requests": 5000, "tokens": 2_000_000}, "used": {"requests": 0, "tokens": 1228}},
               {"rpm": (Unit.REQUESTS, None, 4999, 5000, None),
                "tpm": (Unit.TOKENS, None, 1_998_764, 2_000_000, None)}),
    "gemini": ({"limits": {"rpm": 10, "rpd": 250}, "used": {"rpm": 3, "rpd": 250}},
               {"rpd": (Unit.REQUESTS, 1.0, 0, 250, datetime(2026, 8, 21, 7, 0, tzinfo=UTC)),
                "rpm": (Unit.REQUESTS, None, None, 10, None)}),
    "anthropic_admin": ({"extra": {"daily_usd": 10.0}}, {"monthly": (Unit.USD, None, None, None,
                                                                     datetime(2026, 9, 1, tzinfo=UTC))}),
    "openai_admin": ({"extra": {"daily_usd": 5.0}}, {"monthly": (Unit.USD, None, None, None, None)}),
}
FAULTS = {"401": Outcome.INVALID, "403": Outcome.INVALID, "429": Outcome.LIMITED, "malformed": Outcome.ERROR}
FAULT_OUTCOME = {("claude", "429"): Outcome.ERROR}  # the usage endpoint's own 429 is not the plan's limit
EXPECTED_OUTCOME = {"gemini": Outcome.LIMITED}


def _scenario() -> Scenario:
    accts = []
    for slug, (knobs, _) in CASES.items():
        accts.append(EmuAccount(f"{slug}-ok", slug, key(slug, "ok"), **knobs))
        for fault in FAULTS:
            accts.append(EmuAccount(f"{slug}-{fault}", slug, key(slug, fault), **knobs, fault=fault))
    return Scenario(accts, start=NOW)


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, ProbeResult]]:
    scenario = _scenario()
    with serve(create_app(scenario, FixedClock(NOW))) as url:
        jobs = []
        for a in scenario.accounts:
            spec = PLUGINS.provider(a.provider)
            settings = spec.settings_model(**SETTINGS.get(a.provider, {})) if spec.settings_model else None
            jobs.append(ProbeJob(spec, Account(a.id, a.provider, base_url=url), a.credential, settings))
        runner = ProbeRunner(FixedClock(NOW), backoff=0.01, timeout=5)
        yield {r.account_id: r for r in asyncio.run(runner.run_many(jobs))}


@pytest.mark.parametrize("slug", sorted(CASES))
def test_numbers_and_units(results, slug) -> None:
    r = results[f"{slug}-ok"]
    assert r.outcome is EXPECTED_OUTCOME.get(slug, Outcome.OK), r.reason
    got = {s.window: s for s in r.samples}
    for window, (unit, ratio, remaining, limit, reset) in CASES[slug][1].items():
        s = got[window]
        assert s.unit is unit, window
        for name, want in (("used_ratio", ratio), ("remaining", remaining), ("limit", limit)):
            if want is not None:
                assert getattr(s, name) == pytest.approx(want), (window, name)
        if reset is not None:
            assert s.resets_at.replace(microsecond=0) == reset, window
    assert r.observed_at == NOW and r.cost.requests >= 1


def test_admin_month_to_date_spend(results) -> None:
    assert results["anthropic_admin-ok"].samples[0].used == pytest.approx(200.0)  # Aug 1..20 at $10/day
    assert results["openai_admin-ok"].samples[0].used == pytest.approx(100.0)
    assert len(results["anthropic_admin-ok"].usage) == 20 * 3  # two cost lines + one usage line per day


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("slug", sorted(CASES))
def test_faults(results, slug, fault) -> None:
    r = results[f"{slug}-{fault}"]
    assert r.outcome is FAULT_OUTCOME.get((slug, fault), FAULTS[fault]), r.reason
    assert r.reason and "\n" not in r.reason
    assert key(slug, fault) not in r.reason and key(slug, fault) not in str(r.details)
    if fault == "429":
        assert r.retry_at is None or r.retry_at > NOW


def test_gemini_per_day_429_waits_for_midnight_pacific(results) -> None:
    r = results["gemini-ok"]  # the emulator, like the real service, says retryDelay of seconds for the daily quota
    assert r.outcome is Outcome.LIMITED and r.retry_at == datetime(2026, 8, 21, 7, 0, tzinfo=UTC)
    assert "2026-08-21T07:00:00+00:00" in r.reason


def test_anthropic_429_without_retry_after_over_loopback() -> None:
    acct = EmuAccount("anthropic-nra", "anthropic", key("anthropic", "nra"), limits={"requests": 5, "tokens": 25000},
                      used={"requests": 5}, extra={"retry_after": False})
    with serve(create_app(Scenario([acct], start=NOW), FixedClock(NOW))) as url:
        spec = PLUGINS.provider("anthropic")
        job = ProbeJob(spec, Account(acct.id, "anthropic", base_url=url), acct.credential, spec.settings_model())
        r = asyncio.run(ProbeRunner(FixedClock(NOW), tries=1).run(job))
    rpm = {s.window: s for s in r.samples}["rpm"]
    assert r.outcome is Outcome.THROTTLED and rpm.remaining == 0 and rpm.resets_at is not None  # a minute bucket
    assert r.retry_at == rpm.resets_at > NOW


def test_claude_429_with_only_window_headers_over_loopback() -> None:
    import httpx

    from quotawarden.providers import claude
    from quotawarden.spec import Headers

    acct = EmuAccount("claude-wo", "claude", key("claude", "wo"), limits={"5h": 1, "7d": 1},
                      used={"5h": 1.08, "7d": 0.4}, resets={"5h": H5, "7d": D7}, extra={"windows_only": True})
    with serve(create_app(Scenario([acct], start=NOW), FixedClock(NOW))) as url:
        answer = httpx.post(f"{url}/v1/messages", headers={"authorization": f"Bearer {acct.credential}",
                                                           "anthropic-version": "2023-06-01"},
                            json={"model": "claude-sonnet-4-5", "max_tokens": 1,
                                  "messages": [{"role": "user", "content": "."}]})
    headers = Headers(list(answer.headers.items()))
    assert answer.status_code == 429 and "anthropic-ratelimit-unified-status" not in answer.headers
    got = {s.window: s for s in claude.HEADERS.read(acct.id, 429, headers, NOW)}
    assert got["5h"].status == "rejected" and got["5h"].resets_at == H5  # retry-after points at the 5h reset
    assert claude.header_outcome(headers)[0] is Outcome.LIMITED


def test_probe_costs_are_reported(results) -> None:
    assert results["anthropic-ok"].cost.tokens > 0 and results["claude-ok"].cost.tokens == 0
    assert results["anthropic_admin-ok"].cost.requests == 2
