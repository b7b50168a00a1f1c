"""Burn rate and exhaustion on constructed series, with exact expected numbers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from quotawarden.analysis.burn import (
    Point,
    burn_rate,
    current_segment,
    from_samples,
    project,
    same_reset,
    theil_sen,
)
from quotawarden.analysis.windows import SAME_WINDOW_JITTER_S
from quotawarden.domain import QuotaSample, Source, Unit

T0 = datetime(2026, 8, 20, 12, 0, tzinfo=UTC)
RESET = T0 + timedelta(hours=5)


def sample(minutes: float, ratio: float | None = None, *, resets: datetime | None = RESET,
           used: float | None = None, remaining: float | None = None, limit: float | None = None) -> QuotaSample:
    return QuotaSample(T0 + timedelta(minutes=minutes), "a", "5h", Unit.PERCENT, Source.PROBE, used_ratio=ratio,
                       used=used, remaining=remaining, limit=limit, resets_at=resets, window_length_s=18000)


def linear(n: int = 13, step_min: float = 5, start: float = 0.10, per_hour: float = 0.12) -> list[QuotaSample]:
    return [sample(i * step_min, round(start + per_hour * i * step_min / 60, 10)) for i in range(n)]


def test_linear_burn_rate_and_exhaustion() -> None:
    rate = burn_rate(from_samples(linear()))  # 10% -> 22% over one hour
    assert rate.ratio_per_hour == pytest.approx(0.12)
    assert rate.percent_per_hour == pytest.approx(12.0)
    assert rate.samples == 13
    assert rate.last_ratio == pytest.approx(0.22)
    now = T0 + timedelta(hours=1)
    p = project(rate, RESET, now, cap=1.0)
    # (1.00 - 0.22) / 0.12 = 6.5 h after 13:00 -> 19:30, reset at 17:00 comes first
    assert p.exhausts_at == T0 + timedelta(hours=7, minutes=30)
    assert not p.exhausts_before_reset and p.message == "safe: resets first"
    p80 = project(rate, RESET + timedelta(hours=10), now, cap=0.8)
    # the 80 % cap: (0.80 - 0.22) / 0.12 = 4h50m; exhaustion (100 %): (1.00 - 0.22) / 0.12 = 6h30m
    assert p80.minutes_to_cap == pytest.approx(290) and p80.cap_before_reset
    assert p80.minutes_to_exhaustion == pytest.approx(390) and p80.exhausts_before_reset
    assert p80.message == "reaches its 80% cap in 4h50m; exhausted in 6h30m"
    # the cap before the reset, 100 % after it
    p_late = project(rate, RESET + timedelta(hours=1), now, cap=0.8)
    assert p_late.cap_before_reset and not p_late.exhausts_before_reset
    assert p_late.message == "reaches its 80% cap in 4h50m, 10m before reset"


def test_reset_mid_series_starts_a_new_segment() -> None:
    before = [sample(i * 10, 0.5 + 0.05 * i, resets=T0 + timedelta(minutes=35)) for i in range(4)]  # 50..65%
    after = [sample(40 + i * 10, 0.02 + 0.03 * i, resets=T0 + timedelta(hours=5, minutes=35)) for i in range(5)]
    rate = burn_rate(from_samples(before + after))
    assert rate.samples == 5
    assert rate.segment_start == T0 + timedelta(minutes=40)
    assert rate.ratio_per_hour == pytest.approx(0.18)  # 3 points per 10 minutes
    assert rate.last_ratio == pytest.approx(0.14)


def test_drop_without_reset_time_is_a_reset() -> None:
    pts = [Point(i * 600.0, r) for i, r in enumerate([0.4, 0.5, 0.6, 0.05, 0.10, 0.15])]
    assert [p.ratio for p in current_segment(pts)] == [0.05, 0.10, 0.15]
    assert burn_rate(pts).ratio_per_hour == pytest.approx(0.30)


def test_noisy_samples_outliers_do_not_move_theil_sen() -> None:
    xs = [float(i) for i in range(12)]
    ys = [0.1 + 0.02 * i for i in range(12)]
    ys[3] += 0.30  # a wild proxy sample
    ys[8] -= 0.25  # and one the other way (not enough to count as a reset: tolerance is on the fitted drop)
    assert theil_sen(xs, ys) == pytest.approx(0.02)


def test_symmetric_noise_is_exact_median() -> None:
    rng = random.Random(7)
    series = [sample(i * 5, 0.1 + 0.01 * i + rng.choice([-0.004, 0.004])) for i in range(24)]
    rate = burn_rate(from_samples(series))
    assert rate.ratio_per_hour == pytest.approx(0.12, abs=0.012)  # within 10% of the true 12 %/h
    assert rate.samples == 24


def test_single_sample_has_no_rate() -> None:
    rate = burn_rate(from_samples([sample(0, 0.42)]))
    assert rate.ratio_per_hour is None and rate.samples == 1 and rate.last_ratio == 0.42
    assert project(rate, RESET, T0, 1.0).message == "unknown: not enough samples"


def test_no_samples() -> None:
    rate = burn_rate([])
    assert rate.samples == 0 and rate.ratio_per_hour is None and rate.units_per_hour is None
    assert project(rate, None, T0).exhausts_at is None


def test_provider_reporting_only_remaining_and_limit() -> None:
    # 300 premium requests; 240 left, spending 6 per hour
    series = [sample(i * 60, None, remaining=240 - 6 * i, limit=300, resets=T0 + timedelta(days=10))
              for i in range(6)]
    rate = burn_rate(from_samples(series))
    assert rate.units_per_hour == pytest.approx(6.0)
    assert rate.ratio_per_hour == pytest.approx(0.02)
    assert rate.last_ratio == pytest.approx(0.3)  # 1 - 210/300
    p = project(rate, T0 + timedelta(days=10), T0 + timedelta(hours=5), cap=1.0)
    assert p.exhausts_at == T0 + timedelta(hours=5 + 35)  # 210 left / 6 per hour
    assert p.exhausts_before_reset


def test_remaining_without_limit_gives_native_rate_only() -> None:
    series = [sample(i * 60, None, remaining=50.0 - 2.5 * i, resets=None) for i in range(4)]
    rate = burn_rate(from_samples(series))
    assert rate.units_per_hour == pytest.approx(2.5) and rate.ratio_per_hour is None


def test_out_of_order_samples_and_clock_skew() -> None:
    series = linear()
    shuffled = series[::2] + series[1::2]
    random.Random(3).shuffle(shuffled)
    assert burn_rate(from_samples(shuffled)) == burn_rate(from_samples(series))
    # a second source whose clock runs 40 s late reports the same values: the rate barely moves
    skewed = [QuotaSample(s.observed_at - timedelta(seconds=40), "a", "5h", Unit.PERCENT, Source.PROXY,
                          used_ratio=s.used_ratio, resets_at=RESET) for s in series[1::3]]
    rate = burn_rate(from_samples(series + skewed))
    assert rate.ratio_per_hour == pytest.approx(0.12, rel=0.02)
    assert rate.samples == 13 + len(skewed)


def test_already_exhausted_and_idle() -> None:
    rate = burn_rate(from_samples([sample(0, 0.95), sample(10, 1.0)]))
    assert project(rate, RESET, T0, 1.0).message == "exhausted: at 100%"
    over = burn_rate(from_samples([sample(0, 0.80), sample(60, 0.85)]))  # 5 %/h, at 85 % of an 80 % cap
    p = project(over, T0 + timedelta(hours=5), T0 + timedelta(hours=1), 0.8)
    assert p.message == "at 85%, over its 80% cap; exhausted in 3h00m"
    assert p.cap_reached_at == T0 + timedelta(hours=1) and p.minutes_to_cap == 0
    assert p.exhausts_at == T0 + timedelta(hours=4) and p.exhausts_before_reset
    idle = burn_rate(from_samples([sample(0, 0.3), sample(10, 0.3)]))
    assert project(idle, RESET, T0).message == "safe: not burning"


def test_reset_jitter_is_the_same_window() -> None:
    """Anthropic recomputes ``resets_at`` on every answer: it moves by a second or two. Readings every 5 minutes
    with the reset wandering within 2 s are one segment; a move past the tolerance is a new window."""
    jitter = [0.0, 1.2, -0.8, 2.0, 0.4, -1.6, 1.0, 0.0, 1.9, -2.0, 0.7, 1.3, -0.3]
    series = [sample(i * 5, round(0.10 + 0.01 * i, 10), resets=RESET + timedelta(seconds=j))
              for i, j in enumerate(jitter)]
    rate = burn_rate(from_samples(series))
    assert rate.samples == 13 and rate.segment_start == T0
    assert rate.ratio_per_hour == pytest.approx(0.12)
    assert same_reset(RESET.timestamp(), RESET.timestamp() + SAME_WINDOW_JITTER_S)
    assert not same_reset(RESET.timestamp(), RESET.timestamp() + SAME_WINDOW_JITTER_S + 1)
    moved = [*series, sample(65, 0.23, resets=RESET + timedelta(minutes=5))]
    assert burn_rate(from_samples(moved)).samples == 1
