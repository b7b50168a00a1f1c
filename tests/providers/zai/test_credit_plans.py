"""Z.ai credit plans (real Lite answers, see SOURCES.md): windows named by length (``5h``, ``7d``) so hard caps
written for them apply, credit counts kept next to the percentage, and the plan level reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from quotawarden.analysis.health import Policy
from quotawarden.domain import Unit
from quotawarden.spec import Headers, HttpResponse
from tests.providers.more_kit import by_window, context, fixture, run


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


CASES = [
    ("zai_quota_limit_lite_credits.json", 1786624439633, {
        "5h": (2005, 0, 2000, 1.0, ms(1786624439633)), "7d": (2005, 7994, 10000, 0.20, ms(1787210351998))}),
    ("zai_quota_limit_lite_credits_2.json", 1786717056698, {
        "5h": (27, 1972, 2000, 0.01, ms(1786717056698)), "7d": (27, 9972, 10000, 0.01, ms(1787301777997))}),
]


@pytest.mark.parametrize(("name", "first_reset", "expected"), CASES, ids=[c[0] for c in CASES])
def test_lite_credit_windows(name: str, first_reset: int, expected: dict[str, tuple[object, ...]]) -> None:
    r = run("zai", context("zai", now=ms(first_reset) - timedelta(hours=1)), [fixture(f"zai/{name}")])
    got = by_window(r.samples)
    assert set(got) == set(expected) and "rejected" not in r.details
    for window, (used, remaining, limit, ratio, resets) in expected.items():
        s = got[window]
        assert s.unit is Unit.CREDITS and (s.used, s.remaining, s.limit) == (used, remaining, limit), window
        assert s.used_ratio == pytest.approx(ratio) and s.resets_at == resets, window
    assert got["5h"].window_length_s == 18000 and got["7d"].window_length_s == 604800
    assert r.details == {"plan": "lite", "level": "lite"}


def test_hard_caps_for_5h_and_7d_apply_to_credit_plans() -> None:
    r = run("zai", context("zai", now=ms(1786624439633) - timedelta(hours=1)),
            [fixture("zai/zai_quota_limit_lite_credits.json")])
    policy = Policy(hard_caps={"zai/5h": 0.5, "zai/7d": 0.6})
    assert {s.window: policy.cap("zai", s.window) for s in r.samples} == {"5h": 0.5, "7d": 0.6}


def test_a_credit_window_beside_a_token_window_of_the_same_length_keeps_both() -> None:
    body = (b'{"success":true,"data":{"planName":"Pro","level":"pro","limits":['
            b'{"type":"TOKENS_LIMIT","unit":3,"number":5,"percentage":40,"nextResetTime":1787245200000},'
            b'{"type":"CREDIT_LIMIT","unit":3,"number":5,"percentage":10,"nextResetTime":1787245200000}]}}')
    r = run("zai", context("zai"), [HttpResponse(200, Headers({}), body)])
    got = by_window(r.samples)
    assert set(got) == {"5h", "5h_credits"} and got["5h_credits"].unit is Unit.PERCENT
    assert r.details == {"plan": "Pro", "level": "pro"}
