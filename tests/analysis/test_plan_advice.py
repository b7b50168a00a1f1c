"""Plan advice on recorded histories (both databases): none from too little history, a downgrade only when the
recorded days replayed against the cheaper plan's limits hold; the catalog's rescaling against its own numbers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import pytest

from quotawarden.analysis import simulate as sim
from quotawarden.analysis import tiers
from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.domain import QuotaSample, Source, Unit
from quotawarden.plugins import Plugins, hookimpl, load_plugins
from quotawarden.spec import ProviderSpec
from quotawarden.store import samples as samples_q
from tests.conftest import NOW

CAT = tiers.load_catalog()
FIVE, WEEK = 18000, 604800


class Claude:
    @hookimpl
    def register_providers(self, register):  # type: ignore[no-untyped-def]
        register(ProviderSpec(slug="claude", display_name="Claude", needs_credential=False, kind="subscription"))


def plugins() -> Plugins:
    return load_plugins([Claude()], entry_points=False)


@pytest.fixture
def seat(db_url: str) -> Iterator[Service]:
    cfg = from_text('[[accounts]]\nid = "seat"\nprovider = "claude"\nplan = "claude-max-5x"\n', None, plugins())
    svc = Service(config=cfg, plugins=plugins(), clock=FixedClock(NOW), store_url=db_url)
    try:
        yield svc
    finally:
        svc.close()


def record(svc: Service, days: int, five_per_hour: float, week_per_hour: float) -> None:
    """``days`` of half-hourly readings of a steady user: the 5 h window peaks at 5x ``five_per_hour``, the weekly
    one grows by ``week_per_hour`` (shares of the Max 5x limits)."""
    start = NOW - timedelta(days=days)
    for i, (window, length, rate) in enumerate((("5h", FIVE, five_per_hour), ("7d", WEEK, week_per_hour))):
        samples, _ = sim.simulate("seat", window, length, sim.steady(rate), start, NOW, step_s=1800, seed=i)
        samples_q.write_samples(svc.store, samples)


def test_one_reading_gives_no_advice_and_says_what_is_missing(seat: Service) -> None:
    samples_q.write_samples(seat.store, [QuotaSample(NOW - timedelta(minutes=5), "seat", "7d", Unit.PERCENT,
                                                     Source.PROBE, used_ratio=0.30, window_length_s=WEEK,
                                                     resets_at=NOW + timedelta(days=4))])
    (advice,) = seat.tier_advice()
    assert (advice.action, advice.plan, advice.confidence) == ("unknown", None, None)
    assert (advice.days_of_data, advice.days_missing) == (1, 6)
    assert "6 more needed" in advice.rationale
    assert not [r for r in seat.audit_report()["recommendations"] if r["kind"] == "tier"]


def test_ten_days_that_fit_pro_advise_the_downgrade(seat: Service) -> None:
    record(seat, 10, five_per_hour=0.02, week_per_hour=0.15 / 168)  # 5 h peaks 10 % (50 % of Pro); weekly 15 %
    (advice,) = seat.tier_advice()
    assert (advice.action, advice.plan, advice.monthly_saving) == ("downgrade", "claude-pro", 80.0)
    assert advice.confidence is not None and advice.confidence >= tiers.DOWNGRADE_CONFIDENCE
    assert advice.days_of_data in (10, 11) and advice.days_missing == 0
    recs = [r for r in seat.audit_report()["recommendations"] if r["kind"] == "tier"]
    assert recs and recs[0]["action"] == "downgrade claude-max-5x -> claude-pro"


def test_ten_days_whose_5h_peaks_exceed_pro_advise_nothing(seat: Service) -> None:
    record(seat, 10, five_per_hour=0.05, week_per_hour=0.15 / 168)  # 5 h peaks 25 % = 125 % of Pro
    (advice,) = seat.tier_advice()
    assert advice.action == "keep" and advice.plan == "claude-max-5x"
    pro = next(o for o in advice.options if o["plan"] == "claude-pro")
    assert pro["broke_in_replay"] and pro["confidence"] == 0.0


def test_catalog_rescaling_agrees_with_its_own_numbers() -> None:
    """By the catalog, Max 5x has 3.5x Pro's weekly capacity: a week at 30 % of Max 5x is 105 % of Pro."""
    pro, five = tiers.find_plan(CAT, "claude-pro"), tiers.find_plan(CAT, "claude-max-5x")
    assert pro is not None and five is not None
    assert 0.30 * (tiers.scale(five, pro, "7d") or 0) == pytest.approx(1.05)
    assert 0.30 * (tiers.scale(five, pro, "7d_opus") or 0) == pytest.approx(1.05)  # a model-scoped cap
    days = [tiers.Day({"7d": 0.30, "5h": 0.05}, {"7d": 0.0}, {"7d": 7}) for _ in range(10)]
    assert tiers.advise("a", five, days, CAT).action != "downgrade"
    for family in {p.family for p in CAT if p.family != "*"}:
        plans = sorted((p for p in CAT if p.family == family), key=lambda p: p.price_usd_month)
        for cheap, dear in itertools.pairwise(plans):
            for w, cap in cheap.capacity.items():
                assert dear.capacity[w] >= cap, (family, w)  # paying more never buys less
                there, back = tiers.scale(cheap, dear, w), tiers.scale(dear, cheap, w)
                assert there is not None and back is not None and there * back == pytest.approx(1.0)


def test_a_plan_without_a_model_scoped_cap_does_not_hold_its_use() -> None:
    cat = tiers.load_catalog('''
[[plan]]
id = "big"
family = "x"
name = "Big"
price_usd_month = 100
capacity = { "7d" = 4, "7d_opus" = 4 }

[[plan]]
id = "small"
family = "x"
name = "Small"
price_usd_month = 20
capacity = { "7d" = 1, "7d_opus" = 0 }
''')
    big, small = cat
    used = [tiers.Day({"7d": 0.05, "7d_opus": 0.01}, {}, {}) for _ in range(7)]
    assert not tiers.holds(used, big, small)
    assert tiers.holds([tiers.Day({"7d": 0.05}, {}, {}) for _ in range(7)], big, small)


@pytest.mark.parametrize(("hours", "advised"), [(6 * 24 - 2, False), (7 * 24 + 2, True)])
def test_no_downgrade_from_less_than_seven_days_of_readings(seat: Service, hours: int, advised: bool) -> None:
    """The same light use that advises Pro after ten days: a day short of a week gives no advice and says how many
    days are missing; a full week does."""
    start = NOW - timedelta(hours=hours)
    for i, (window, length, rate) in enumerate((("5h", FIVE, 0.02), ("7d", WEEK, 0.15 / 168))):
        samples, _ = sim.simulate("seat", window, length, sim.steady(rate), start, NOW, step_s=1800, seed=i)
        samples_q.write_samples(seat.store, samples)
    (advice,) = seat.tier_advice()
    if advised:
        assert (advice.action, advice.plan) == ("downgrade", "claude-pro") and advice.days_missing == 0
    else:
        assert (advice.action, advice.plan, advice.confidence) == ("unknown", None, None)
        assert advice.days_of_data is not None and advice.days_of_data < tiers.MIN_DAYS
        assert advice.days_missing == tiers.MIN_DAYS - advice.days_of_data > 0
        assert f"{advice.days_missing} more needed" in advice.rationale
        assert not [r for r in seat.audit_report()["recommendations"] if r["kind"] == "tier"]
