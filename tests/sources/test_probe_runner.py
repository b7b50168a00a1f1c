"""The probe runner over real loopback HTTP: retries, outcome mapping, timeouts, costs, validation, no secrets."""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Iterator
from datetime import timedelta

import httpx
import pytest

from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Outcome, QuotaSample, Source, Unit
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.providers._quota import check_status, json_object
from quotawarden.sources.probe_runner import ProbeJob, ProbeRunner, validate
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec
from tests.conftest import NOW

KEY = "sk-proj-runnertest0000000000000000abcd"


def _probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    resp = yield HttpRequest("GET", ctx.url("https://api.openai.com", "/v1/models"),
                             headers={"Authorization": f"Bearer {ctx.secret}"}, cost_tokens=3)
    check_status(resp, "test", ctx.now)
    json_object(resp, "test")
    left = float(resp.headers["x-ratelimit-remaining-requests"])
    return ProbeReading(samples=[QuotaSample(ctx.now, ctx.account.id, "rpm", Unit.REQUESTS, Source.PROBE,
                                             remaining=left, limit=100)])


SPEC = ProviderSpec(slug="openai", display_name="test", probe=_probe)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Scenario]]:
    sc = Scenario([EmuAccount("ok", "openai", KEY, {"requests": 100}, {"requests": 10})], hang_s=5)
    app = create_app(sc, FixedClock(NOW))
    with serve(app) as url:
        yield url, app.state.emulator


def run(url: str, state, fault: str | None, count: int | None = None, timeout: float = 5.0):
    acct = state.scenario.by_id("ok")
    acct.fault, acct.fault_count = fault, count
    state.fault_hits.clear()
    runner = ProbeRunner(FixedClock(NOW), timeout=timeout, backoff=0.01)
    try:
        return asyncio.run(runner.run(ProbeJob(SPEC, Account("a1", "openai", base_url=url), KEY)))
    finally:
        acct.fault = None


@pytest.mark.parametrize(("fault", "count", "outcome", "requests"), [
    (None, None, Outcome.OK, 1),
    ("401", None, Outcome.INVALID, 1),
    ("403", None, Outcome.INVALID, 1),
    ("429", None, Outcome.LIMITED, 1),
    ("insufficient_quota", None, Outcome.LIMITED, 1),
    ("500", None, Outcome.ERROR, 3),
    ("503", 2, Outcome.OK, 3),
    ("malformed", None, Outcome.ERROR, 1),
])
def test_outcomes(server, fault, count, outcome, requests) -> None:
    url, state = server
    r = run(url, state, fault, count)
    assert r.outcome is outcome, r.reason
    assert r.cost.requests == requests and r.cost.tokens == 3 * requests
    assert KEY not in r.reason and r.observed_at == NOW
    if fault == "429":
        assert r.retry_at == NOW + timedelta(seconds=6)
    if outcome is Outcome.OK:
        assert r.samples[0].remaining == 90 - 0  # each account answers with its own numbers


def test_timeout_is_unreachable(server) -> None:
    url, state = server
    r = run(url, state, "timeout", 3, timeout=0.3)
    assert r.outcome is Outcome.UNREACHABLE and "timed out" in r.reason and r.cost.requests == 3


def test_nobody_listening_is_unreachable() -> None:
    runner = ProbeRunner(FixedClock(NOW), timeout=1, backoff=0.01)
    r = asyncio.run(runner.run(ProbeJob(SPEC, Account("a1", "openai", base_url="http://127.0.0.1:9"), KEY)))
    assert r.outcome is Outcome.UNREACHABLE and KEY not in r.reason


def test_asgi_transport_seam() -> None:
    app = create_app(Scenario([EmuAccount("ok", "openai", KEY, {"requests": 100})]), FixedClock(NOW))
    runner = ProbeRunner(FixedClock(NOW), transport=httpx.ASGITransport(app))
    r = asyncio.run(runner.run(ProbeJob(SPEC, Account("a1", "openai", base_url="http://emu"), KEY)))
    assert r.outcome is Outcome.OK and r.samples[0].remaining == 100


def test_out_of_range_values_are_rejected_not_stored() -> None:
    bad = [QuotaSample(NOW, "a", "5h", Unit.PERCENT, Source.PROBE, used_ratio=1.7e9),
           QuotaSample(NOW, "a", "rpm", Unit.REQUESTS, Source.PROBE, remaining=-3),
           QuotaSample(NOW, "a", "7d", Unit.PERCENT, Source.PROBE, used_ratio=0.5)]
    kept, rejected = validate(bad, NOW)
    assert [s.window for s in kept] == ["7d"] and len(rejected) == 2 and "out of range" in rejected[0]
