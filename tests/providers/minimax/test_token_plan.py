"""MiniMax Token Plan rows (counts 0, a remaining percentage only; real answers, see SOURCES.md) are percent
windows: the used ratio and reset that are known, and no invented limit or remaining count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quotawarden.domain import Unit
from quotawarden.spec import Headers, HttpResponse
from tests.providers.more_kit import by_window, context, fixture, run

CAPTURED = datetime(2026, 6, 3, 18, 47, 54, 789000, tzinfo=UTC)


def test_interval_row_with_times() -> None:
    r = run("minimax", context("minimax", now=CAPTURED), [fixture("minimax/minimax_token_plan_interval.json")])
    assert set(by_window(r.samples)) == {"5h"} and "rejected" not in r.details
    s = by_window(r.samples)["5h"]
    assert s.unit is Unit.PERCENT and s.used_ratio == pytest.approx(0.87)
    assert (s.limit, s.remaining, s.used) == (None, None, None)
    assert s.resets_at == datetime(2026, 6, 3, 20, 0, tzinfo=UTC) and s.window_length_s == 18000


def test_percent_only_row() -> None:
    r = run("minimax", context("minimax"), [fixture("minimax/minimax_token_plan_percent.json")])
    got = by_window(r.samples)
    assert set(got) == {"5h", "7d"} and "rejected" not in r.details
    assert got["5h"].used_ratio == pytest.approx(0.08) and got["7d"].used_ratio == pytest.approx(0.02)
    for s in got.values():
        assert s.unit is Unit.PERCENT and (s.limit, s.remaining, s.used, s.resets_at) == (None, None, None, None)


def test_a_row_with_neither_counts_nor_percent_is_no_window() -> None:
    body = (b'{"model_remains":[{"model_name":"general","current_interval_total_count":0,'
            b'"current_interval_usage_count":0,"current_weekly_total_count":0,"current_weekly_usage_count":0}],'
            b'"base_resp":{"status_code":0}}')
    r = run("minimax", context("minimax"), [HttpResponse(200, Headers({}), body)])
    assert r.samples == [] and "rejected" not in r.details
