"""The planner's pace rule from recorded readings (both databases): an account whose 5-hour window resets first but
burns so fast that it would reach its cap before that reset does not go first, and the reason says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.domain import QuotaSample, Source, Unit
from quotawarden.plugins import load_plugins
from quotawarden.store import samples as samples_q
from tests.conftest import NOW

CONFIG = '[[accounts]]\nid = "hot"\nprovider = "claude"\n\n[[accounts]]\nid = "calm"\nprovider = "claude"\n'
MIN = timedelta(minutes=1)


@pytest.fixture
def svc(db_url: str) -> Iterator[Service]:
    plugins = load_plugins()
    service = Service(config=from_text(CONFIG, None, plugins), plugins=plugins, clock=FixedClock(NOW),
                      store_url=db_url)
    service.accounts()
    try:
        yield service
    finally:
        service.close()


def five_h(acc: str, ago: timedelta, ratio: float, resets_in: timedelta) -> QuotaSample:
    return QuotaSample(NOW - ago, acc, "5h", Unit.PERCENT, Source.PROBE, used_ratio=ratio,
                       resets_at=NOW + resets_in, window_length_s=18000)


def record(svc: Service, rate: float, hot_reset: timedelta) -> None:
    """Forty minutes of readings every five: "hot" now at 40 % rising ``rate`` per hour, "calm" flat at 40 %."""
    hot = [five_h("hot", 5 * i * MIN, 0.40 - rate * 5 * i / 60, hot_reset) for i in range(9)]
    calm = [five_h("calm", 5 * i * MIN, 0.40, timedelta(hours=4)) for i in range(9)]
    samples_q.write_samples(svc.store, hot + calm)


def test_flat_use_the_sooner_reset_goes_first(svc: Service) -> None:
    record(svc, 0.0, timedelta(hours=3))
    plan = svc.next_account()
    assert [c.account_id for c in plan.ranked] == ["hot", "calm"] and all(c.pace_ok for c in plan.ranked)
    assert plan.reason() == "hot: 5h window at 40% resets in 3h00m — use it before it expires"


def test_an_account_that_would_reach_its_cap_before_its_reset_goes_after_one_on_pace(svc: Service) -> None:
    """Rising 20 points an hour from 40 %, hot reaches its 80 % cap in 2 h, an hour before its reset."""
    record(svc, 0.2, timedelta(hours=3))
    plan = svc.next_account()
    assert [c.account_id for c in plan.ranked] == ["calm", "hot"] and not plan.skipped
    hot = plan.ranked[1]
    assert plan.ranked[0].pace_ok and not hot.pace_ok
    assert "would reach a cap before its reset" in plan.reason(hot)


def test_an_account_about_to_reach_its_cap_is_not_offered(svc: Service) -> None:
    """Rising 60 points an hour, hot reaches its cap in 40 minutes, 10 before its reset: RED, skipped, named."""
    record(svc, 0.6, timedelta(minutes=50))
    plan = svc.next_account()
    assert [c.account_id for c in plan.ranked] == ["calm"]
    assert dict(plan.skipped) == {"hot": "RED: 5h: reaches its 80% cap in 40m, 10m before reset"}
