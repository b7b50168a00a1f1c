"""A real Copilot answer over its premium allowance (``quota_remaining: -1`` of 300, a negative
``percent_remaining``; see SOURCES.md) reads as an exhausted window: kept (used 301 of 300, nothing remaining),
RED, with its reset, and the account LIMITED, or OVERAGE when paid overage is permitted."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from quotawarden.analysis.health import Policy, Window, account_level, decide
from quotawarden.domain import Outcome, Unit
from quotawarden.providers._quota import MAX_RATIO
from quotawarden.spec import Headers, HttpResponse
from tests.providers.more_kit import by_window, context, fixture, run

CAPTURED = datetime(2026, 3, 7, 7, 0, 13, tzinfo=UTC)
RESET = datetime(2026, 4, 1, tzinfo=UTC)


def answer(**premium: object) -> HttpResponse:
    body = orjson.loads(fixture("copilot/copilot_user_over_quota.json").body)
    body["quota_snapshots"]["premium_interactions"].update(premium)
    return HttpResponse(200, Headers({"content-type": "application/json"}), orjson.dumps(body))


def test_over_the_allowance_is_exhausted_not_dropped() -> None:
    r = run("copilot", context("copilot", now=CAPTURED), [fixture("copilot/copilot_user_over_quota.json")])
    assert "rejected" not in r.details
    s = by_window(r.samples)["premium"]
    assert (s.unit, s.limit, s.used, s.remaining) == (Unit.REQUESTS, 300, 301, 0)
    assert s.used_ratio == pytest.approx(1 + 1 / 300) and s.used_ratio >= 1.0
    assert s.resets_at == RESET and s.status == "exhausted" and s.window_length_s == 30 * 86400
    assert r.outcome is Outcome.LIMITED
    assert "premium 301 of 300" in r.reason and "2026-04-01" in r.reason


def test_over_the_allowance_is_red() -> None:
    r = run("copilot", context("copilot", now=CAPTURED), [fixture("copilot/copilot_user_over_quota.json")])
    s = by_window(r.samples)["premium"]
    verdict = decide(Window("copilot", s.window, s.effective_ratio, s.remaining, s.status, s.window_length_s,
                            s.resets_at), Policy(), CAPTURED)
    assert verdict.level == "RED"
    assert account_level([verdict.level], r.outcome.value) == "RED"


def test_paid_overage_keeps_the_overage_outcome() -> None:
    r = run("copilot", context("copilot", now=CAPTURED), [answer(overage_permitted=True)])
    s = by_window(r.samples)["premium"]
    assert r.outcome is Outcome.OVERAGE and s.status == "overage" and s.used == 301
    r = run("copilot", context("copilot", now=CAPTURED), [answer(overage_permitted=True, overage_count=12)])
    assert r.outcome is Outcome.OVERAGE and r.details["overage_count"] == 12


def test_far_over_is_still_kept_and_a_bad_percentage_still_rejected() -> None:
    r = run("copilot", context("copilot", now=CAPTURED), [answer(quota_remaining=-450, remaining=-450,
                                                                 percent_remaining=-150.0)])
    s = by_window(r.samples)["premium"]
    assert (s.used, s.remaining, s.used_ratio) == (750, 0, MAX_RATIO)  # 250 % used, capped for display
    r = run("copilot", context("copilot", now=CAPTURED), [answer(quota_remaining=12, remaining=12,
                                                                 percent_remaining=-4.0)])
    assert r.samples == [] and "outside 0..100" in r.details["rejected"][0]
    assert r.outcome is Outcome.OK
