"""Readings age: a window past its reset, or read longer ago than its own length, is stale in every reading of the
store (status, --json, summary's fast path); jittering reset times are one window. Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from quotawarden.app.service import Service
from quotawarden.domain import Health, QuotaSample, Source, Unit
from quotawarden.interfaces.fast import summary
from quotawarden.store import quick
from quotawarden.store import samples as samples_q
from tests.conftest import NOW


def _sample(at_min: float, ratio: float, resets_s: float, account: str = "claude-work",
            source: Source = Source.PROXY) -> QuotaSample:
    return QuotaSample(NOW + timedelta(minutes=at_min), account, "5h", Unit.PERCENT, source, used_ratio=ratio,
                       resets_at=NOW + timedelta(seconds=resets_s), window_length_s=18000)


def test_old_readings_are_stale_not_current(store_service: Service) -> None:
    feb = NOW - timedelta(days=190)
    samples_q.write_samples(store_service.store, [
        # a February Codex-like reading of 90 %: its window reset long ago
        QuotaSample(feb, "claude-work", "5h", Unit.PERCENT, Source.LOG, used_ratio=0.9,
                    resets_at=feb + timedelta(hours=2), window_length_s=18000),
        # reset an hour ago, read three hours ago
        QuotaSample(NOW - timedelta(hours=3), "claude-side", "5h", Unit.PERCENT, Source.PROBE, used_ratio=0.95,
                    resets_at=NOW - timedelta(hours=1), window_length_s=18000, status="rejected"),
        # fresh
        QuotaSample(NOW - timedelta(minutes=10), "claude-side", "7d", Unit.PERCENT, Source.PROBE, used_ratio=0.2,
                    resets_at=NOW + timedelta(days=2), window_length_s=604800),
    ])
    by_id = {s.account.id: s for s in store_service.status()}
    work = by_id["claude-work"]
    assert work.status is Health.UNKNOWN and work.windows[0].stale
    assert work.reason.startswith("5h: reset ") and work.reason.endswith("ago, no reading since")
    side = by_id["claude-side"]
    assert side.status is Health.GREEN  # the rejected 95 % reading was before the reset
    report = store_service.status_report()
    windows = {(a["id"], w["name"]): w for a in report["accounts"] for w in a["windows"]}
    old = windows[("claude-work", "5h")]
    assert old["stale"] is True and old["used_ratio"] is None and old["status"] == "UNKNOWN"
    assert old["age_s"] == pytest.approx(190 * 86400) and old["burn_rate_per_hour"] is None
    assert old["observed_at"] is not None and old["provider_status"] is None
    assert windows[("claude-side", "5h")]["stale"] is True
    fresh = windows[("claude-side", "7d")]
    assert fresh["stale"] is False and fresh["age_s"] == 600 and fresh["used_ratio"] == 0.2


def test_summary_fast_path_agrees_on_stale(store_service: Service, db_url: str) -> None:
    samples_q.write_samples(store_service.store, [
        QuotaSample(NOW - timedelta(hours=6), "claude-work", "5h", Unit.PERCENT, Source.PROBE, used_ratio=0.9,
                    resets_at=None, window_length_s=18000),
    ])
    lines, _, avoid = summary.build(quick.load(None, db_url, NOW.timestamp()))
    line = {ln.id: ln for ln in lines}["claude-work"]
    st = {s.account.id: s for s in store_service.status()}["claude-work"]
    assert line.status == st.status.value == "UNKNOWN" and line.reason == st.reason == "5h: stale, read 6h00m ago"
    assert line.ratio is None and line.stale and "claude-work" not in avoid
    assert "stale" in summary.render(lines, [], avoid)


def test_jittering_reset_times_are_one_window(store_service: Service) -> None:
    """Proxied Anthropic answers every 4 minutes for two hours; the stated reset wanders by up to 2 s."""
    jitter = [0.0, 1.0, -1.0, 2.0, 0.0, -2.0, 1.0, 1.0, 0.0, -1.0, 2.0, 0.0, 1.0, -1.0, 0.0,
              2.0, -2.0, 1.0, 0.0, 1.0, -1.0, 0.0, 2.0, 1.0, 0.0, -1.0, 1.0, 0.0, 2.0, 0.0, 1.0]
    base = 3 * 3600.0
    readings = [_sample(-120 + 4 * i, round(0.30 + 0.008 * i, 6), base + j) for i, j in enumerate(jitter)]
    samples_q.write_samples(store_service.store, readings)
    w = {s.account.id: s for s in store_service.status()}["claude-work"].windows[0]
    assert w.burn_rate_per_hour == pytest.approx(0.12, rel=0.02)  # 0.8 points per 4 minutes
    assert w.extra["burn_samples"] == len(readings)  # one segment: the whole 2-hour look-back
    # a real reset (the stated time moves by hours) starts a new segment
    samples_q.write_samples(store_service.store, [_sample(4, 0.01, base + 5 * 3600), _sample(8, 0.02,
                                                                                             base + 5 * 3600 + 1)])
    w = {s.account.id: s for s in store_service.status()}["claude-work"].windows[0]
    assert w.extra["burn_samples"] == 2
