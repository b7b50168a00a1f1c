"""Every balance, subscription and local provider against the emulator over real loopback HTTP, through the
probe runner: parsed numbers and units match what the emulator was told, and 401/403, 429 and a malformed body
become INVALID, LIMITED and ERROR outcomes with a one-line reason that never holds the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Outcome, Unit
from quotawarden.emulator.app import EmulatorState, create_app
from quotawarden.emulator.scenario import EmuAccount, Scenario
from quotawarden.emulator.server import serve
from quotawarden.sources.probe_runner import ProbeJob, ProbeResult, ProbeRunner
from tests.providers.more_kit import NOW, spec

H5 = NOW + timedelta(hours=2, minutes=57)
D7 = NOW + timedelta(days=3, hours=19)


def key(slug: str, n: int) -> str:
    return f"{slug}-emu-key-{n:04d}-abcdefghijklmnopqrstuvwxyz"


# slug, emulated account knobs, account settings, expected {window: (unit, used, remaining, limit, resets_at)}
# (None = not checked; probes that spend a request are checked in their own test below)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, tuple[Any, ...]]]] = [
    ("groq", {"limits": {"requests": 14400, "tokens": 18000}, "used": {"requests": 30, "tokens": 500}},
     {"probe": "models"}, {"rpd": (Unit.REQUESTS, 30, 14370, 14400, None),
                           "tpm": (Unit.TOKENS, 500, 17500, 18000, None)}),
    ("mistral", {"limits": {"tokens": 500000, "requests": 720, "month": 1e9},
                 "used": {"tokens": 32007, "requests": 3, "month": 1587790}},
     {"probe": "models"}, {"tpm": (Unit.TOKENS, 32007, 467993, 500000, None),
                           "rpm": (Unit.REQUESTS, 3, 717, 720, None),
                           "monthly": (Unit.TOKENS, 1587790, 998412210, 1e9, None)}),
    ("xai", {"limits": {"balance": 40.0}, "used": {"balance": 15.0}}, {"team_id": "team-emu"},
     {"balance": (Unit.USD, None, 25.0, None, None)}),
    ("openrouter", {"limits": {"key": 50, "credits": 200}, "extra": {"management": True},
                    "used": {"key": 12.8157, "daily": 1.2207, "weekly": 9.441, "monthly": 12.8157, "total": 112.9921,
                             "credits": 112.99214}}, {"credits": True},
     {"monthly": (Unit.USD, 12.8157, 37.1843, 50, NOW.replace(month=9, day=1, hour=0, minute=0, second=0)),
      "daily": (Unit.USD, 1.2207, None, None, None), "weekly": (Unit.USD, 9.441, None, None, None),
      "total": (Unit.USD, 112.9921, None, None, None), "credits": (Unit.USD, 112.99214, 87.00786, 200, None)}),
    ("deepseek", {"limits": {"balance_usd": 20, "balance_cny": 100}, "used": {"balance_usd": 2.58, "balance_cny": 10}},
     {}, {"balance_usd": (Unit.USD, None, 17.42, None, None), "balance_cny": (Unit.CNY, None, 90.0, None, None)}),
    ("moonshot", {"limits": {"balance": 60}, "used": {"balance": 10.41106}, "extra": {"voucher": 46.58893}}, {},
     {"balance": (Unit.USD, None, 49.58894, None, None)}),
    ("kimi", {"limits": {"7d": 2048, "5h": 200}, "used": {"7d": 512, "5h": 63}, "resets": {"7d": D7, "5h": H5}}, {},
     {"7d": (Unit.REQUESTS, 512, 1536, 2048, D7), "5h": (Unit.REQUESTS, 63, 137, 200, H5)}),
    ("copilot", {"limits": {"premium": 1500}, "used": {"premium": 571.5}, "resets": {"premium": D7}}, {},
     {"premium": (Unit.REQUESTS, 571.5, 928.5, 1500, D7), "chat": (Unit.REQUESTS, None, None, None, D7),
      "completions": (Unit.REQUESTS, None, None, None, D7)}),
    ("copilot_billing", {"limits": {"premium": 1500}, "used": {"premium": 412.0}}, {"user": "octocat-dev"},
     {"premium_billed": (Unit.REQUESTS, 412.0, None, None, None)}),
    ("zai", {"limits": {"5h": 1, "7d": 1, "tools": 1000}, "used": {"5h": 0.37, "7d": 0.12, "tools": 224},
             "resets": {"5h": H5, "7d": D7}}, {},
     {"5h": (Unit.PERCENT, None, None, None, H5), "7d": (Unit.PERCENT, None, None, None, D7),
      "tools": (Unit.REQUESTS, 224, 776, 1000, None)}),
    ("minimax", {"limits": {"5h": 1500, "7d": 15000}, "used": {"5h": 373, "7d": 2590}, "resets": {"5h": H5, "7d": D7}},
     {}, {"5h": (Unit.REQUESTS, 373, 1127, 1500, H5), "7d": (Unit.REQUESTS, 2590, 12410, 15000, D7)}),
    ("alibaba", {"limits": {"5h": 1200, "7d": 9000, "monthly": 18000}, "used": {"5h": 412, "7d": 2950, "monthly": 7020},
                 "resets": {"5h": H5, "7d": D7}}, {},
     {"5h": (Unit.REQUESTS, 412, 788, 1200, H5), "7d": (Unit.REQUESTS, 2950, 6050, 9000, D7),
      "monthly": (Unit.REQUESTS, 7020, 10980, 18000, None)}),
    ("llamacpp", {"limits": {"tokens": 1e12}, "used": {"tokens": 184220}}, {},
     {"health": (Unit.REQUESTS, None, None, None, None)}),
    ("ollama", {"extra": {"models": ["qwen2.5-coder:14b"]}}, {}, {"health": (Unit.REQUESTS, None, None, None, None)}),
]
SLUGS = [c[0] for c in CASES]
SETTINGS = {c[0]: c[2] for c in CASES}


def emu_account(slug: str, n: int, knobs: dict[str, Any], **extra: Any) -> EmuAccount:
    return EmuAccount(id=f"{slug}-{n}", provider=slug, credential=key(slug, n), **{**knobs, **extra})


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[str, EmulatorState]]:
    accounts = []
    for i, (slug, knobs, _s, _e) in enumerate(CASES):
        accounts.append(emu_account(slug, 1, knobs))
        # a second account of the same provider with other usage, and one per fault
        accounts.append(emu_account(slug, 2, {**knobs, "used": {k: v / 2 for k, v in knobs.get("used", {}).items()}}))
        for n, fault in ((401, "401"), (403, "403"), (429, "429"), (500 + i, "malformed")):
            accounts.append(emu_account(slug, n, knobs, fault=fault))
    scenario = Scenario(accounts=accounts, start=NOW)
    app = create_app(scenario, FixedClock(NOW))
    with serve(app) as base_url:
        yield base_url, app.state.emulator


def probe(base_url: str, slug: str, n: int, settings: dict[str, Any] | None = None) -> ProbeResult:
    s = spec(slug)
    model = s.settings_model(**(SETTINGS[slug] if settings is None else settings)) if s.settings_model else None
    account = Account(id=f"{slug}-{n}", provider=slug, base_url=base_url)
    runner = ProbeRunner(FixedClock(NOW), tries=2, backoff=0.01, timeout=5)
    return asyncio.run(runner.run(ProbeJob(s, account, key(slug, n), model)))


@pytest.mark.parametrize(("slug", "knobs", "settings", "expected"), CASES, ids=SLUGS)
def test_numbers_and_units_over_loopback(emulator: tuple[str, EmulatorState], slug: str, knobs: dict[str, Any],
                                         settings: dict[str, Any], expected: dict[str, tuple[Any, ...]]) -> None:
    result = probe(emulator[0], slug, 1)
    assert result.outcome is Outcome.OK, result.reason
    got = {s.window: s for s in result.samples}
    assert set(got) == set(expected)
    for window, (unit, used, remaining, limit, resets) in expected.items():
        s = got[window]
        assert s.unit is unit
        for name, want in (("used", used), ("remaining", remaining), ("limit", limit)):
            if want is not None:
                assert getattr(s, name) == pytest.approx(want, abs=1e-6), f"{window}.{name}"
        if resets is not None:
            assert s.resets_at == resets, window
    assert result.cost.requests >= 1 and result.rejected == []


@pytest.mark.parametrize("slug", SLUGS)
def test_two_accounts_of_one_provider_report_apart(emulator: tuple[str, EmulatorState], slug: str) -> None:
    one, two = probe(emulator[0], slug, 1), probe(emulator[0], slug, 2)
    assert one.outcome is Outcome.OK and two.outcome is Outcome.OK
    assert {s.account_id for s in one.samples} == {f"{slug}-1"} and {s.account_id for s in two.samples} == {f"{slug}-2"}
    if slug not in ("ollama", "llamacpp"):  # unlimited: nothing differs but the account
        assert [s.effective_ratio or s.remaining or s.used for s in one.samples] != \
               [s.effective_ratio or s.remaining or s.used for s in two.samples]


FAULTS = [(401, Outcome.INVALID), (403, Outcome.INVALID), (429, Outcome.LIMITED)]


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize(("n", "outcome"), FAULTS, ids=[str(f[0]) for f in FAULTS])
def test_fault_outcomes(emulator: tuple[str, EmulatorState], slug: str, n: int, outcome: Outcome) -> None:
    result = probe(emulator[0], slug, n)
    if n == 429 and slug == "groq":  # its 429 names tokens per minute: request-scoped, not a benched account
        outcome = Outcome.THROTTLED
    assert result.outcome is outcome, result.reason
    assert result.reason and "\n" not in result.reason and key(slug, n) not in result.reason
    assert result.samples == [] or outcome in (Outcome.LIMITED, Outcome.THROTTLED)


@pytest.mark.parametrize("slug", SLUGS)
def test_malformed_body_is_an_error(emulator: tuple[str, EmulatorState], slug: str) -> None:
    n = 500 + SLUGS.index(slug)
    result = probe(emulator[0], slug, n)
    assert result.outcome is Outcome.ERROR, result.reason
    assert result.reason and key(slug, n) not in result.reason


@pytest.mark.parametrize("slug", ["groq", "xai"])
def test_one_token_completion_probe_reads_headers(emulator: tuple[str, EmulatorState], slug: str) -> None:
    base_url, state = emulator
    state.add_account(EmuAccount(id=f"{slug}-700", provider=slug, credential=key(slug, 700),
                                 limits={"requests": 100, "tokens": 10000}, used={"requests": 10}))
    create = spec(slug).settings_model
    assert create is not None
    result = asyncio.run(ProbeRunner(FixedClock(NOW), tries=1).run(ProbeJob(
        spec(slug), Account(id=f"{slug}-700", provider=slug, base_url=base_url), key(slug, 700), create())))
    assert result.outcome is Outcome.OK and result.cost.tokens > 0
    requests = next(s for s in result.samples if s.unit is Unit.REQUESTS)
    assert requests.limit == 100 and requests.remaining == 89  # the probe itself spent one request


def test_llamacpp_loading_and_ollama_idle(emulator: tuple[str, EmulatorState]) -> None:
    base_url, state = emulator
    state.add_account(EmuAccount(id="llamacpp-800", provider="llamacpp", credential=key("llamacpp", 800),
                                 extra={"state": "loading"}))
    state.add_account(EmuAccount(id="ollama-800", provider="ollama", credential=key("ollama", 800),
                                 extra={"models": []}))
    loading = probe(base_url, "llamacpp", 800)
    idle = probe(base_url, "ollama", 800)
    assert loading.outcome is Outcome.ERROR and "Loading model" in loading.reason
    assert idle.outcome is Outcome.OK and idle.samples[0].status == "idle" and idle.details["models"] == []


# the current answers of four providers, as real captures show them (tests/providers/<slug>/SOURCES.md)
CURRENT = [
    ("copilot", {"limits": {"premium": 300}, "used": {"premium": 301}, "resets": {"premium": D7},
                 "extra": {"allow_over_limit": True, "overage_permitted": False}},
     Outcome.LIMITED, {"premium": (Unit.REQUESTS, 301, 0, 300, D7), "chat": (Unit.REQUESTS, None, None, None, D7),
                       "completions": (Unit.REQUESTS, None, None, None, D7)}),
    ("copilot", {"limits": {"premium": 300}, "used": {"premium": 310}, "resets": {"premium": D7},
                 "extra": {"allow_over_limit": True}},
     Outcome.OVERAGE, {"premium": (Unit.REQUESTS, 310, 0, 300, D7), "chat": (Unit.REQUESTS, None, None, None, D7),
                       "completions": (Unit.REQUESTS, None, None, None, D7)}),
    ("kimi", {"limits": {"7d": 100, "5h": 100, "monthly": 1000}, "used": {"7d": 26, "5h": 27, "monthly": 228},
              "resets": {"7d": D7, "5h": H5}, "extra": {"shape": "2026-09"}},
     Outcome.OK, {"7d": (Unit.REQUESTS, 26, 74, 100, D7), "5h": (Unit.REQUESTS, 27, 73, 100, H5),
                  "monthly": (Unit.PERCENT, None, None, None, None)}),
    ("minimax", {"limits": {"5h": 100, "7d": 100}, "used": {"5h": 13, "7d": 2}, "resets": {"5h": H5, "7d": D7},
                 "extra": {"token_plan": True}},
     Outcome.OK, {"5h": (Unit.PERCENT, None, None, None, H5), "7d": (Unit.PERCENT, None, None, None, D7)}),
    ("zai", {"limits": {"5h": 2000, "7d": 10000}, "used": {"5h": 27, "7d": 27}, "resets": {"5h": H5, "7d": D7},
             "extra": {"credits": True, "level": "lite"}},
     Outcome.OK, {"5h": (Unit.CREDITS, 27, 1973, 2000, H5), "7d": (Unit.CREDITS, 27, 9973, 10000, D7)}),
]
RATIOS = {("kimi", "monthly"): 0.228, ("minimax", "5h"): 0.13, ("minimax", "7d"): 0.02, ("copilot", "premium"): None}


@pytest.mark.parametrize(("slug", "knobs", "outcome", "expected"), CURRENT,
                         ids=[f"{c[0]}-{c[2].value.lower()}" for c in CURRENT])
def test_current_answers_over_loopback(emulator: tuple[str, EmulatorState], slug: str, knobs: dict[str, Any],
                                       outcome: Outcome, expected: dict[str, tuple[Any, ...]]) -> None:
    base_url, state = emulator
    n = 900 + CURRENT.index(next(c for c in CURRENT if c[0] == slug and c[2] is outcome))
    state.add_account(emu_account(slug, n, knobs))
    result = probe(base_url, slug, n)
    assert result.outcome is outcome, result.reason
    got = {s.window: s for s in result.samples}
    assert set(got) == set(expected) and result.rejected == []
    for window, (unit, used, remaining, limit, resets) in expected.items():
        s = got[window]
        assert (s.unit, s.used, s.remaining, s.limit) == (unit, used, remaining, limit), window
        if resets is not None:
            assert s.resets_at == resets, window
        if RATIOS.get((slug, window)) is not None:
            assert s.used_ratio == pytest.approx(RATIOS[(slug, window)]), window
        if (slug, window) == ("copilot", "premium"):
            assert s.effective_ratio is not None and s.effective_ratio > 1.0
    if slug == "zai":
        assert result.details["plan"] == "lite"


def test_mistral_legacy_headers_are_still_read(emulator: tuple[str, EmulatorState]) -> None:
    base_url, state = emulator
    state.add_account(emu_account("mistral", 900, {"limits": {"tokens": 500000}, "used": {"tokens": 1000},
                                                   "extra": {"legacy": True}}))
    result = probe(base_url, "mistral", 900)
    [tpm] = result.samples
    assert (tpm.window, tpm.remaining, tpm.resets_at) == ("tpm", 499000, NOW + timedelta(seconds=40))


def test_moonshot_account_in_arrears_is_limited(emulator: tuple[str, EmulatorState]) -> None:
    base_url, state = emulator
    state.add_account(emu_account("moonshot", 901, {"limits": {"balance": 60}, "used": {"balance": 91.14918},
                                                    "extra": {"voucher": 20, "allow_over_limit": True}}))
    result = probe(base_url, "moonshot", 901)
    assert result.outcome is Outcome.LIMITED and "topped up" in result.reason
    assert result.details["cash_balance"] == "-31.14918" and result.details["voucher_balance"] == "0.0"
    assert result.retry_at is None and result.samples[0].remaining == 0


def test_openrouter_ordinary_key_credits(emulator: tuple[str, EmulatorState]) -> None:
    import httpx

    base_url, state = emulator
    state.add_account(emu_account("openrouter", 902, {"limits": {"key": 30}, "used": {"key": 3.17561396}}))
    answer = httpx.get(f"{base_url}/api/v1/credits", headers={"authorization": f"Bearer {key('openrouter', 902)}"})
    assert answer.status_code == 200 and answer.json() == {"data": {"total_credits": 0, "total_usage": 0}}
    result = probe(base_url, "openrouter", 902, {"credits": True})
    assert result.outcome is Outcome.OK and "credits" not in {s.window for s in result.samples}
    assert result.details["credits"].startswith("not asked") and result.cost.requests == 1
