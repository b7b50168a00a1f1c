"""OpenCode Zen credits and Cline account credits: fixtures through the pure probe, and the emulated twins over
loopback through the probe runner (numbers, units, 401/403, 429, malformed, nothing left), never echoing the key."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Outcome, Unit
from quotawarden.emulator.app import create_app
from quotawarden.emulator.scenario import EmuAccount, Scenario
from quotawarden.emulator.server import serve
from quotawarden.errors import MalformedResponse
from quotawarden.sources.probe_runner import ProbeJob, ProbeResult, ProbeRunner
from tests.providers.more_kit import NOW, by_window, context, fixture, run, spec


def test_zen_credits_fixture() -> None:
    r = run("opencode_zen", context("opencode_zen"), [fixture("opencode_zen/zen_credits.json")])
    s = by_window(r.samples)["credits"]
    assert (s.unit, s.used, s.remaining, s.limit) == (Unit.CREDITS, 7.4312, 12.5688, 20.0)
    assert r.outcome is Outcome.OK and r.details["remaining_credits"] == 12.5688


def test_zen_key_without_a_balance_is_checked_on_the_models_list() -> None:
    r = run("opencode_zen", context("opencode_zen"), [fixture("opencode_zen/zen_credits_not_found.html"),
                                                      fixture("opencode_zen/zen_models.json")])
    assert r.outcome is Outcome.OK and not r.samples
    assert r.details["balance"] == "not reported" and r.details["models"] == ["big-pickle", "kimi-k2.5"]


def test_zen_answer_without_numbers_is_malformed() -> None:
    from quotawarden.spec import Headers, HttpResponse

    bad = HttpResponse(200, Headers({"content-type": "application/json"}), b'{"data": {"used_credits": "x"}}')
    with pytest.raises(MalformedResponse):
        run("opencode_zen", context("opencode_zen"), [bad])


def test_cline_fixtures_in_credits() -> None:
    r = run("cline_account", context("cline_account"), [fixture("cline/cline_me.json"),
                                                        fixture("cline/cline_balance.json")])
    s = by_window(r.samples)["credits"]
    assert (s.unit, s.remaining, s.limit) == (Unit.CREDITS, 12.3456, None)


def test_cline_api_error_envelope_is_malformed_not_a_crash() -> None:
    with pytest.raises(MalformedResponse, match="Please sign in"):
        run("cline_account", context("cline_account"), [fixture("cline/cline_error.json")])


def key(slug: str, n: int) -> str:
    return f"{slug}-emu-key-{n:04d}-abcdefghijklmnopqrstuvwxyz"


KNOBS: dict[str, dict[str, Any]] = {
    "opencode_zen": {"limits": {"credits": 20.0}, "used": {"credits": 7.5}},
    "cline_account": {"limits": {"credits": 25.0, "org_credits": 300.0}, "used": {"credits": 5.25,
                                                                                    "org_credits": 42.5}},
}
FAULTS = {401: ("401", Outcome.INVALID), 403: ("403", Outcome.INVALID), 429: ("429", Outcome.LIMITED),
          500: ("malformed", Outcome.ERROR)}


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    accounts = []
    for slug, knobs in KNOBS.items():
        accounts.append(EmuAccount(f"{slug}-1", slug, key(slug, 1), **knobs))
        accounts.append(EmuAccount(f"{slug}-2", slug, key(slug, 2), limits=knobs["limits"],
                                   used={k: v for k, v in knobs["limits"].items()}))  # nothing left
        for n, (fault, _) in FAULTS.items():
            accounts.append(EmuAccount(f"{slug}-{n}", slug, key(slug, n), fault=fault, **knobs))
    accounts.append(EmuAccount("opencode_zen-3", "opencode_zen", key("opencode_zen", 3),
                               extra={"credits": "not_found"}))
    accounts.append(EmuAccount("opencode_zen-4", "opencode_zen", key("opencode_zen", 4), extra={"credits": "404"}))
    accounts.append(EmuAccount("cline_account-3", "cline_account", key("cline_account", 3),
                               extra={"organization": "Acme"}, **KNOBS["cline_account"]))
    with serve(create_app(Scenario(accounts=accounts, start=NOW), FixedClock(NOW))) as base_url:
        yield base_url


def probe(base_url: str, slug: str, n: int) -> ProbeResult:
    s = spec(slug)
    model = s.settings_model() if s.settings_model else None
    runner = ProbeRunner(FixedClock(NOW), tries=1, backoff=0.01, timeout=5)
    return asyncio.run(runner.run(ProbeJob(s, Account(f"{slug}-{n}", slug, base_url=base_url), key(slug, n), model)))


def _clean(result: ProbeResult, slug: str, n: int) -> None:
    text = json.dumps([result.reason, result.details, result.as_json()], default=str)
    assert key(slug, n) not in text and "abcdefghijklmnopqrstuvwxyz" not in text


@pytest.mark.parametrize(("slug", "n", "window", "used", "remaining", "limit", "outcome"), [
    ("opencode_zen", 1, "credits", 7.5, 12.5, 20.0, Outcome.OK),
    ("opencode_zen", 2, "credits", 20.0, 0.0, 20.0, Outcome.LIMITED),
    ("cline_account", 1, "credits", None, 19.75, None, Outcome.OK),
    ("cline_account", 2, "credits", None, 0.0, None, Outcome.LIMITED),
    ("cline_account", 3, "org_credits", None, 257.5, None, Outcome.OK),
])
def test_numbers_units_and_nothing_left_over_loopback(emulator: str, slug: str, n: int, window: str,
                                                      used: float | None, remaining: float, limit: float | None,
                                                      outcome: Outcome) -> None:
    result = probe(emulator, slug, n)
    assert result.outcome is outcome, result.reason
    s = by_window(result.samples)[window]
    assert (s.unit, s.used, s.remaining, s.limit, s.resets_at) == (Unit.CREDITS, used, remaining, limit, None)
    if outcome is Outcome.LIMITED:
        assert "credits left" in result.reason
    _clean(result, slug, n)


@pytest.mark.parametrize("slug", list(KNOBS))
@pytest.mark.parametrize("n", list(FAULTS))
def test_faults_become_outcomes_without_the_key(emulator: str, slug: str, n: int) -> None:
    result = probe(emulator, slug, n)
    assert result.outcome is FAULTS[n][1], result.reason
    assert result.reason
    _clean(result, slug, n)


@pytest.mark.parametrize("n", [3, 4])
def test_zen_keys_the_credits_endpoint_does_not_serve_are_ok_without_a_balance(emulator: str, n: int) -> None:
    result = probe(emulator, "opencode_zen", n)
    assert result.outcome is Outcome.OK and not result.samples
    assert result.details["balance"] == "not reported" and "big-pickle" in result.details["models"]
