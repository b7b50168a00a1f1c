"""Kimi Code's answers since about 2026-09 (counts without ``used`` and a ``usages`` map of ratios, see
SOURCES.md) parse to the right numbers, as the older shape still does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from quotawarden.domain import Unit
from quotawarden.errors import MalformedResponse
from quotawarden.spec import Headers, HttpResponse
from tests.providers.more_kit import by_window, context, fixture, run


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# fixture, capture time -> {window: (unit, used, remaining, limit, used_ratio, resets_at, length_s)}
CASES: list[tuple[str, str, dict[str, tuple[Any, ...]]]] = [
    ("kimi_usages_2026_09_both.json", "2026-09-22T00:32:15Z", {
        "7d": (Unit.REQUESTS, 0, 100, 100, 0.0, at("2026-09-26T12:32:15.376980Z"), 604800),
        "5h": (Unit.REQUESTS, 0, 100, 100, 0.0, at("2026-09-22T04:32:15.376980Z"), 18000)}),
    ("kimi_usages_2026_09_monthly.json", "2026-09-16T15:11:32Z", {
        "5h": (Unit.PERCENT, None, None, None, 0.0, at("2026-09-16T20:11:32Z"), 18000),
        "monthly": (Unit.PERCENT, None, None, None, 0.0, at("2026-10-16T00:00:00Z"), 30 * 86400),
        "monthly_code": (Unit.PERCENT, None, None, None, 0.0, at("2026-10-16T00:00:00Z"), 30 * 86400)}),
    ("kimi_usages_2026_09_exhausted.json", "2026-09-20T22:09:07Z", {
        "7d": (Unit.REQUESTS, 100, 0, 100, 1.0, at("2026-09-24T02:09:07.465054Z"), None),
        "5h": (Unit.REQUESTS, 0, 100, 100, 0.0, at("2026-09-21T01:09:07.465054Z"), 18000)}),
    ("kimi_usages_nested_camel.json", "2026-09-18T08:07:12Z", {
        "5h": (Unit.PERCENT, None, None, None, 0.0, at("2026-09-18T12:07:12Z"), 18000),
        "7d": (Unit.PERCENT, None, None, None, 0.0, at("2026-09-23T23:07:12Z"), 604800)}),
]


@pytest.mark.parametrize(("name", "captured", "expected"), CASES, ids=[c[0] for c in CASES])
def test_captured_answers(name: str, captured: str, expected: dict[str, tuple[Any, ...]]) -> None:
    r = run("kimi", context("kimi", now=at(captured)), [fixture(f"kimi/{name}")])
    got = by_window(r.samples)
    assert set(got) == set(expected) and "rejected" not in r.details
    for window, (unit, used, remaining, limit, ratio, resets, length) in expected.items():
        s = got[window]
        assert (s.unit, s.used, s.remaining, s.limit) == (unit, used, remaining, limit), window
        assert s.effective_ratio == pytest.approx(ratio), window
        assert (s.resets_at, s.window_length_s) == (resets, length), window


def body(text: bytes) -> HttpResponse:
    return HttpResponse(200, Headers({"content-type": "application/json"}), text)


def test_counts_win_over_a_ratio_for_the_same_window() -> None:
    answer = (b'{"limits":[{"window":{"duration":300,"timeUnit":"TIME_UNIT_MINUTE"},"detail":{"limit":"100",'
              b'"used":"21","remaining":"79","resetTime":"2026-09-26T11:52:30.018171Z"}}],"usages":{"limit_5h":'
              b'{"used_ratio":0.206526,"reset_time":"2026-09-26T11:52:29Z"},"limit_month_total":{"used_ratio":0.0228,'
              b'"reset_time":"2026-10-26T06:52:30Z"}}}')
    r = run("kimi", context("kimi", now=at("2026-09-26T08:00:00Z")), [body(answer)])
    got = by_window(r.samples)
    assert set(got) == {"5h", "monthly"}
    assert (got["5h"].unit, got["5h"].used, got["5h"].limit) == (Unit.REQUESTS, 21, 100)
    assert got["monthly"].used_ratio == pytest.approx(0.0228) and got["monthly"].limit is None


def test_an_answer_with_nothing_known_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        run("kimi", context("kimi"), [body(b'{"something":"else"}')])
    with pytest.raises(MalformedResponse):
        run("kimi", context("kimi"), [body(b'{"usage":{"limit":"100","resetTime":"2026-09-24T02:09:07Z"}}')])
