"""Pure analysis functions on constructed inputs: health, anomalies, cost forecast, budgets, tiers, fairness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from quotawarden.analysis import anomaly, cost, fairness, health, tiers
from quotawarden.analysis.burn import BurnRate

NOW = datetime(2026, 8, 20, 14, 0, tzinfo=UTC)


def win(ratio: float | None, provider: str = "claude", status: str | None = None,
        remaining: float | None = None) -> health.Window:
    return health.Window(provider, "5h", ratio, remaining, status, 18000, NOW + timedelta(hours=3))


def rate(per_hour: float, last: float) -> BurnRate:
    return BurnRate(per_hour, None, 12, NOW - timedelta(hours=1), last, NOW)


@pytest.mark.parametrize(("ratio", "provider", "per_hour", "expected", "reason"), [
    (0.30, "claude", 0.01, "GREEN", "5h at 30%"),
    (0.55, "claude", 0.01, "YELLOW", "5h at 55% (>= 50%)"),
    (0.81, "gemini", 0.0, "RED", "5h at 81% (> 80%)"),
    (0.80, "claude", 0.0, "RED", "5h at 80%, at its 80% cap"),
    (0.80, "claude", None, "RED", "5h at 80%, at its 80% cap"),
    (0.85, "claude", None, "RED", "5h at 85%, over its 80% cap"),
    (1.00, "claude", None, "RED", "5h at 100%: exhausted"),
    # 70 %/h would fill the 5-hour window within a quarter of its length: the claude 5h cap of 80 % drops by the
    # 5 % safety margin to 75 %; at 60 %/h it does not
    (0.76, "claude", 0.7, "RED", "5h at 76%, over its 75% cap; exhausted in 20m (burning fast: cap lowered to 75%)"),
    (0.76, "claude", 0.6, "RED", "5h: reaches its 80% cap in 4m; exhausted in 24m"),
    # 20 %/h from 40 %: reaches 80 % in 2 h, before the reset in 3 h; 2 h > the scaled red threshold (70 min)
    (0.40, "claude", 0.2, "YELLOW", "5h: reaches its 80% cap in 2h00m, 1h00m before reset"),
    # 40 %/h from 40 %: 1 h, under 70 min: RED
    (0.40, "claude", 0.4, "RED", "5h: reaches its 80% cap in 1h00m; exhausted in 1h30m"),
])
def test_window_health(ratio: float, provider: str, per_hour: float | None, expected: str, reason: str) -> None:
    r = rate(per_hour, ratio) if per_hour is not None else None
    got = health.decide(win(ratio, provider), health.Policy(), NOW, rate=r)
    assert (got.level, got.reason) == (expected, reason)


@pytest.mark.parametrize(("window", "kwargs", "expected"), [
    (win(0.1, "x"), {"service": "degraded"}, ("YELLOW", "service degraded")),
    (win(0.1, "x"), {"service": "major_outage"}, ("RED", "service major_outage")),
    (win(0.1, "x"), {"service": "unknown"}, ("GREEN", "5h at 10%")),
    (win(0.1, "x"), {"errors": 0.06}, ("RED", "error rate 6.0% over 24h")),
    (win(0.1, "x"), {"errors": 0.0005}, ("GREEN", "5h at 10%")),
    (win(0.2, "x", status="rejected"), {}, ("RED", "5h: rejected by the provider")),
    (win(None, "x", remaining=0), {}, ("RED", "5h: nothing remaining")),
    (win(None, "x"), {}, ("UNKNOWN", "5h: no utilisation reported")),
    (win(None, "x"), {"service": "degraded"}, ("YELLOW", "service degraded")),
])
def test_health_service_errors_and_rejected(window: health.Window, kwargs: dict[str, Any],
                                            expected: tuple[str, str]) -> None:
    assert health.decide(window, health.Policy(), NOW, **kwargs)[:2] == expected


def test_hard_caps_and_policy_from_config() -> None:
    assert health.Policy(hard_caps={"claude/5h": 0.7}).cap("claude", "5h") == 0.7
    assert health.Policy().cap("openai", "rpm") == 0.85
    pol = health.Policy.from_mapping({"used_red": 1, "hard_caps": {"acme/monthly": 0.25}, "other": "x"})
    assert (pol.used_red, pol.cap("acme", "monthly"), pol.cap("claude", "5h")) == (1.0, 0.25, 0.8)
    verdict = health.decide(health.Window("acme", "monthly", 0.3), pol, NOW)
    assert verdict[:2] == ("RED", "monthly at 30%, over its 25% cap")


def test_a_window_past_its_reset_is_stale_not_its_old_ratio() -> None:
    """Codex rate limits read from February logs must not read "GREEN 5h at 10%" in December, nor a 90 % window
    stay RED for ever: after its reset a window's usage is unknown."""
    feb = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
    dec = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for ratio in (0.10, 0.90):
        old = health.Window("codex", "5h", ratio, None, None, 18000, feb + timedelta(hours=3), feb)
        v = health.decide(old, health.Policy(), dec, rate=rate(0.3, ratio))
        assert (v.level, v.stale, v.projection) == ("UNKNOWN", True, None)
        assert v.reason.startswith("5h: reset ") and v.reason.endswith(" ago, no reading since")
        assert v.age_s == (dec - feb).total_seconds()
    # reset an hour ago, read two hours ago: stale although younger than the window
    w = health.Window("claude", "5h", 0.9, None, None, 18000, NOW - timedelta(hours=1), NOW - timedelta(hours=2))
    assert health.decide(w, health.Policy(), NOW)[:2] == ("UNKNOWN", "5h: reset 1h00m ago, no reading since")
    # no reset time: stale once older than the window's own length
    young = health.Window("openai", "rpm", 0.9, None, None, 60, None, NOW - timedelta(seconds=59))
    old = young._replace(observed_at=NOW - timedelta(minutes=5))
    assert health.decide(young, health.Policy(), NOW)[:2] == ("RED", "rpm at 90%, over its 85% cap")
    assert health.decide(old, health.Policy(), NOW)[:2] == ("UNKNOWN", "rpm: stale, read 5m ago")
    # a window without a length or a reset (a balance) never goes stale by age; its age is still told
    bal = health.Window("deepseek", "balance", None, 12.5, None, None, None, NOW - timedelta(days=40))
    v = health.decide(bal, health.Policy(), NOW)
    assert not v.stale and v.age_s == 40 * 86400
    # the service page still counts on a stale window
    v = health.decide(old, health.Policy(), NOW, service="major_outage")
    assert (v.level, v.reason) == ("RED", "service major_outage; rpm: stale, read 5m ago")


@pytest.mark.parametrize(("levels", "outcome", "expected"), [
    (["GREEN", "YELLOW", "UNKNOWN"], "OK", "YELLOW"),
    (["UNKNOWN"], "OK", "UNKNOWN"),
    ([], "UNKNOWN", "UNKNOWN"),
    (["GREEN"], "LIMITED", "RED"),
    ([], "INVALID", "RED"),
])
def test_account_level(levels: list[str], outcome: str, expected: str) -> None:
    assert health.account_level(levels, outcome) == expected


def test_robust_z_and_spikes() -> None:
    assert anomaly.robust_z(30, [10, 12, 8, 10]) == (pytest.approx(0.6745 * 20 / 1.0), 10)
    week = 604800.0
    base = NOW.replace(minute=0).timestamp()
    hourly = [("p", base - w * week, 10.0 + (w % 2)) for w in range(1, 5)] + [("p", base, 60.0)]
    (a,) = anomaly.spikes(hourly, NOW - timedelta(hours=1), floor=1)
    assert (a.subject, a.value, a.baseline) == ("p", 60.0, 10.5)
    assert anomaly.spikes([*hourly[:-1], ("p", base, 12.0)], NOW - timedelta(hours=1)) == []


def usage(day: int, usd: str | None, project: str = "web", consumer: str = "a", tokens: int = 1000) -> cost.Usage:
    ts = (NOW - timedelta(days=day)).timestamp()
    return cost.Usage(ts, "claude", "m", "acc", consumer, project, tokens, 0, 0, 0,
                      Decimal(usd) if usd is not None else None)


def test_forecast_of_a_flat_spend_is_exact() -> None:
    today = usage(0, "4")._replace(ts=(NOW - timedelta(hours=1)).timestamp())
    rows = [*(usage(d, "10") for d in range(1, 29)), today]
    fc = cost.forecast(rows, NOW)  # Aug 20 14:00: 19 full days since Aug 1 at $10 + $4 today
    assert fc.to_date == Decimal("194")
    assert fc.daily_mean == Decimal("10") and fc.days_left == pytest.approx(11.42, abs=0.01)
    assert fc.low == fc.expected == fc.high == Decimal("308.17")  # 194 + 10 * 11.4167
    lines = cost.breakdown([*rows, usage(0, None)], "month", "project")
    assert [(x.period, x.cost, x.calls, x.unpriced) for x in lines] == [("2026-07", Decimal(90), 9, 0),
                                                                        ("2026-08", Decimal(194), 21, 1)]


def test_budgets() -> None:
    rows = [usage(d, "10") for d in range(1, 29)]
    specs = [cost.BudgetSpec("web", "project", "w*", monthly_usd=250), cost.BudgetSpec("ok", monthly_usd=1000),
             cost.BudgetSpec("spent", "total", monthly_usd=100), cost.BudgetSpec("none", "project", "x*",
                                                                                 monthly_usd=1)]
    states = {b.budget.name: b.state for b in cost.budgets(rows, specs, NOW)}
    assert states == {"web": "breach", "ok": "ok", "spent": "over", "none": "ok"}


CAT = tiers.load_catalog()


def days(peak: float, weekly_growth: float, n: int = 30) -> list[tiers.Day]:
    return [tiers.Day({"5h": peak}, {"7d": weekly_growth / 7}, {"7d": 7}) for _ in range(n)]


def test_tier_downgrade_only_when_every_day_holds() -> None:
    cur = tiers.find_plan(CAT, "max20x")
    assert cur is not None and cur.id == "claude-max-20x"
    # 5h peaks of 15 % of Max 20x = 60 % of Max 5x; weekly 40 % of Max 20x = 69 % of Max 5x
    advice = tiers.advise("a", cur, days(0.15, 0.4), CAT)
    assert (advice.action, advice.plan, advice.monthly_saving, advice.confidence) == ("downgrade", "claude-max-5x",
                                                                                      100.0, 1.0)
    spiky = days(0.15, 0.4)
    spiky[17] = tiers.Day({"5h": 0.25}, {"7d": 0.4 / 7}, {"7d": 7})  # one day at 100 % of Max 5x
    advice = tiers.advise("a", cur, spiky, CAT)
    assert advice.action == "keep"
    five = next(o for o in advice.options if o["plan"] == "claude-max-5x")
    assert five["broke_in_replay"] and five["confidence"] < 0.95


def test_tier_upgrade_and_unknown() -> None:
    pro = tiers.find_plan(CAT, "claude-pro")
    advice = tiers.advise("a", pro, days(1.0, 0.9), CAT)
    assert (advice.action, advice.plan) == ("upgrade", "claude-max-5x")
    assert tiers.advise("a", None, [], CAT).action == "unknown"
    assert all(p.source and p.as_of for p in CAT)


def test_fairness_indices_exact() -> None:
    rows = [usage(0, "3", consumer="a")] * 3 + [usage(0, "1", consumer="b")]
    f = fairness.fairness(rows, pressure=True)
    # costs 9 and 1: Jain = 100 / (2 * 82); Gini = (9 - 1) / (2 * 2 * 5) = 0.4
    assert f.weight == "cost"
    assert f.jain == pytest.approx(100 / 164) and f.gini == pytest.approx(0.4)
    a, b = f.consumers
    assert (a.consumer, a.share, a.advice) == ("a", 0.9, "throttle") and b.advice == "proceed"
    assert fairness.jain([1, 1, 1]) == 1.0 and fairness.gini([0, 0, 3]) == pytest.approx(2 / 3)
    anon = fairness.anonymize(f, keep="b")
    assert [c.consumer for c in anon.consumers] == ["consumer-1", "b"]
    tokens = fairness.fairness([usage(0, None, consumer="a", tokens=300), usage(0, "1", consumer="b", tokens=100)])
    assert tokens.weight == "tokens" and tokens.consumers[0].share == 0.75


def test_forecast_from_one_day_has_a_wide_interval() -> None:
    """One day of spend says little about the month: the 90% interval is wide, never zero-width, and it narrows
    as days accumulate (at 14 days and more the bootstrap alone sets it)."""
    one = cost.forecast([usage(1, "10")], NOW)
    assert one.low < one.expected < one.high
    left = one.days_left * 10
    assert one.high - one.low > 0.5 * left  # wider than half of the expected remaining spend
    today_only = cost.forecast([usage(0, "4")._replace(ts=(NOW - timedelta(hours=1)).timestamp())], NOW)
    assert today_only.low < today_only.high and today_only.expected > today_only.to_date
    week = cost.forecast([usage(d, "10") for d in range(1, 8)], NOW)
    assert 0 < week.high - week.low < one.high - one.low
    assert cost.mean_spread(1) > cost.mean_spread(7) > cost.mean_spread(13) > cost.mean_spread(14) == 0.0
