"""Refusals told apart (``domain.classify_limit``): real 429/529 bodies and headers sorted into an exhausted window
(the account is benched until its reset), a request-scoped limit (short retry, not benched) and an overload;
then the same through the probe runner over loopback and through the proxy pool's hold rule."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quotawarden.clock import FixedClock
from quotawarden.domain import Account, LimitKind, Outcome, QuotaSample, classify_limit, limit_hold, window_scope
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.plugins import load_plugins
from quotawarden.providers import claude, gemini
from quotawarden.providers._headers import error_type, limit_verdict
from quotawarden.sources.probe_runner import ProbeJob, ProbeRunner
from quotawarden.sources.proxy.pools import PoolState
from quotawarden.spec import Headers, HttpResponse
from quotawarden.testing import load_http_response

HERE = Path(__file__).parent
NOW = datetime(2026, 8, 20, 14, 3, 11, tzinfo=UTC)
PLUGINS = load_plugins()
Reader = Callable[[HttpResponse], list[QuotaSample]]


def answer(name: str, status: int) -> HttpResponse:
    path = HERE / name
    if path.suffix == ".txt":
        return load_http_response(path)
    return HttpResponse(status, Headers({"content-type": "application/json"}), path.read_bytes())


def headers_of(slug: str) -> Reader:
    reader = PLUGINS.provider(slug).headers
    assert reader is not None
    return lambda r: reader.read("acct", r.status, r.headers, NOW)


def gemini_body(r: HttpResponse) -> list[QuotaSample]:
    return gemini.read_error_body("acct", r.status, r.body, NOW)[0]


def nothing(r: HttpResponse) -> list[QuotaSample]:
    return []


CASES = [  # (fixture, status, how its windows are read, kind, what the reason names)
    ("limits/anthropic_529_overloaded.json", 529, nothing, LimitKind.OVERLOAD, "overloaded"),
    ("limits/anthropic_429_rate_limited_bare.json", 429, nothing, LimitKind.WINDOW, "without a named window"),
    ("limits/openai_429_tpm_request_too_large.json", 429, nothing, LimitKind.REQUEST, "per-minute"),
    ("limits/openai_429_insufficient_quota_2023_11.json", 429, nothing, LimitKind.WINDOW, "insufficient_quota"),
    ("limits/gemini_429_per_minute_tokens.json", 429, gemini_body, LimitKind.REQUEST, "tpm"),
    ("limits/gemini_429_day_and_minute.json", 429, gemini_body, LimitKind.WINDOW, "rpd"),
    ("gemini/gemini_429_daily_short_delay.json", 429, gemini_body, LimitKind.WINDOW, "rpd"),
    ("limits/claude_unified_429_model_scoped.txt", 429, headers_of("claude"), LimitKind.REQUEST, "oi"),
    ("claude/anthropic_unified_429.txt", 429, headers_of("claude"), LimitKind.WINDOW, "5h"),
    ("claude/anthropic_unified_429_windows_only.txt", 429, headers_of("claude"), LimitKind.WINDOW, "5h"),
    ("anthropic/anthropic_429.txt", 429, headers_of("anthropic"), LimitKind.REQUEST, "bucket"),
    ("openai/openai_429_rate_limit.txt", 429, headers_of("openai"), LimitKind.REQUEST, "tpm"),
    ("groq/groq_429_tpm_2024_04.json", 429, nothing, LimitKind.REQUEST, "per-minute"),
]


@pytest.mark.parametrize(("name", "status", "read", "kind", "named"), CASES, ids=[c[0] for c in CASES])
def test_each_real_refusal_gets_its_kind(name: str, status: int, read: Reader, kind: LimitKind, named: str) -> None:
    r = answer(name, status)
    verdict = limit_verdict(r.status, r.body, read(r))
    assert verdict.kind is kind, verdict
    assert named in verdict.reason, verdict.reason
    assert verdict.benches is (kind is LimitKind.WINDOW)
    assert verdict.outcome is {LimitKind.WINDOW: Outcome.LIMITED, LimitKind.REQUEST: Outcome.THROTTLED,
                               LimitKind.OVERLOAD: Outcome.OVERLOADED}[kind]


def test_error_types_of_each_dialect() -> None:
    assert error_type(answer("limits/anthropic_529_overloaded.json", 529).body) == "overloaded_error"
    assert error_type(answer("limits/openai_429_insufficient_quota_2023_11.json", 429).body) == "insufficient_quota"
    assert error_type(answer("limits/gemini_429_per_minute_tokens.json", 429).body) == "RESOURCE_EXHAUSTED"
    assert error_type(b"<html>bad gateway</html>") is None and error_type(b'{"error": "x"}') is None


def test_model_scoped_windows_are_named_apart() -> None:
    assert [window_scope(w) for w in ("5h", "7d", "7d_opus", "7d_oi", "rpm", "rpd", "extra_usage",
                                      "gpt_5_codex_mini_5h", "monthly")] == \
        [None, None, "opus", "oi", None, None, None, "gpt_5_codex_mini", None]


def test_a_model_cap_holds_the_account_seconds_not_a_week() -> None:
    """A 429 whose only rejected window is one model's weekly cap: the pool holds the account 30 s (its other models
    still answer), where the account-wide 5h rejection keeps it out until that window's reset."""
    scoped = answer("limits/claude_unified_429_model_scoped.txt", 429)
    samples = claude.HEADERS.read("acct", 429, scoped.headers, NOW)
    hold = PoolState.hold(429, samples, scoped.headers.get("retry-after"), NOW, 60)
    assert hold.outcome is Outcome.THROTTLED and hold.until == NOW + timedelta(seconds=30)
    assert "7d_oi" in hold.reason
    wide = answer("claude/anthropic_unified_429.txt", 429)
    wide_samples = claude.HEADERS.read("acct", 429, wide.headers, NOW)
    benched = PoolState.hold(429, wide_samples, wide.headers.get("retry-after"), NOW, 60)
    five = next(s for s in wide_samples if s.window == "5h")
    assert benched.outcome is Outcome.LIMITED and benched.until == five.resets_at
    overloaded = PoolState.hold(529, [], None, NOW, 60)
    assert overloaded.outcome is Outcome.OVERLOADED and overloaded.until == NOW + timedelta(seconds=30)


def test_hold_rules() -> None:
    minute = classify_limit(429, [], message="Rate limit reached on requests per min (RPM)")
    assert minute.kind is LimitKind.REQUEST
    assert limit_hold(NOW, minute, NOW + timedelta(seconds=7), []) == NOW + timedelta(seconds=7)
    assert limit_hold(NOW, minute, NOW + timedelta(days=3), []) == NOW + timedelta(seconds=30)
    assert limit_hold(NOW, classify_limit(402, []), None, []) is None  # credits: no reset; the caller's default
    assert classify_limit(503, []).kind is LimitKind.OVERLOAD


@pytest.mark.parametrize(("fault", "outcome"), [("429", Outcome.THROTTLED), ("529", Outcome.OVERLOADED),
                                                ("503", Outcome.OVERLOADED)])
def test_probe_outcomes_over_loopback(fault: str, outcome: Outcome) -> None:
    """The Anthropic emulator's per-minute 429 and its 529/503: each its own outcome and a short retry time."""
    acct = EmuAccount("a", "anthropic", "sk-ant-api03-" + "k" * 40, limits={"requests": 50, "tokens": 30_000},
                      used={"requests": 50} if fault == "429" else {}, fault=None if fault == "429" else fault)
    with serve(create_app(Scenario([acct], start=NOW), FixedClock(NOW))) as url:
        spec = PLUGINS.provider("anthropic")
        job = ProbeJob(spec, Account("a", "anthropic", base_url=url), acct.credential, spec.settings_model())
        r = asyncio.run(ProbeRunner(FixedClock(NOW), tries=1).run(job))
    assert r.outcome is outcome, r.reason
    assert r.retry_at is not None and NOW < r.retry_at <= NOW + timedelta(seconds=60)
    assert acct.credential not in r.reason


@pytest.mark.parametrize(("key", "outcome"), [("seven_day_opus", Outcome.OK), ("five_hour", Outcome.LIMITED)])
def test_claude_usage_one_models_cap_is_not_the_plans_limit(key: str, outcome: Outcome) -> None:
    """The usage endpoint with one window at 100 %: Opus's own weekly cap leaves the account OK (the window says
    RED, ``exhausted_models`` names it); the 5-hour window used up is the plan's limit."""
    from quotawarden.spec import ProbeContext

    body = json.loads((HERE / "claude/anthropic_oauth_usage.json").read_text())
    body[key] = {"utilization": 100.0, "resets_at": (NOW + timedelta(days=2)).isoformat()}
    body["extra_usage"] = {"is_enabled": False}  # no paid extra usage: a used-up plan window is LIMITED
    spec = PLUGINS.provider("claude")
    ctx = ProbeContext(Account("max", "claude"), "sk-ant-oat01-x", spec.settings_model(), NOW)
    reading = claude.read_usage_response(ctx, HttpResponse(200, Headers({}), json.dumps(body).encode()))
    assert reading.outcome is outcome, reading.reason
    if outcome is Outcome.OK:
        assert reading.details["exhausted_models"] == ["7d_opus"]
        assert {s.window: s.used_ratio for s in reading.samples}["7d_opus"] == 1.0
