"""The team view (``analysis.team``): seats, who is near a cap, pooled capacity, silence; and a flat burn rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quotawarden.analysis import team
from quotawarden.analysis.burn import BurnRate, project
from quotawarden.analysis.status import AccountStatus, WindowStatus
from quotawarden.domain import Account, Health, Outcome, QuotaSample, Source, Unit

NOW = datetime(2026, 8, 20, 14, 0, tzinfo=UTC)


def _acc(seat: str, name: str, ratio: float, level: Health, resets_in_h: float = 1.5) -> AccountStatus:
    s = QuotaSample(observed_at=NOW - timedelta(minutes=1), account_id=f"{seat}/{name}", window="5h",
                    unit=Unit.PERCENT, source=Source.PROBE, used_ratio=ratio,
                    resets_at=NOW + timedelta(hours=resets_in_h), window_length_s=18000)
    return AccountStatus(Account(f"{seat}/{name}", "claude", tags={"seat": seat}), level, "", Outcome.OK,
                         [WindowStatus(s, level, f"5h at {ratio:.0%}")])


def test_team_pools_capacity_flags_silent_seats_and_names_who_is_near_a_cap() -> None:
    statuses = [_acc("alice", "max", 0.2, Health.GREEN, 2.0), _acc("bob", "max", 0.9, Health.RED, 1 + 10 / 60),
                _acc("carol", "max", 0.13, Health.GREEN)]
    seats = [team.SeatPushes("alice", True, NOW.timestamp() - 30, 60.0, 5),
             team.SeatPushes("bob", True, NOW.timestamp() - 181, 60.0, 5),
             team.SeatPushes("dave", True)]
    t = team.build(statuses, seats, [("alice", "web", 1.5, 3), ("alice", "", 0.5, 1)], NOW,
                   default_interval_s=60, provider_names={"claude": "Claude"})
    by = {v.name: v for v in t.seats}
    assert set(by) == {"alice", "bob", "carol", "dave"}  # carol pushed without being declared here
    assert not by["alice"].silent and by["bob"].silent and by["dave"].state == "never pushed"
    assert by["bob"].state.startswith("silent for") and by["alice"].cost_usd == 2.0
    assert [n.account_id for n in t.near_cap] == ["bob/max"]
    (pool,) = t.pooled
    assert pool.line(NOW) == "Claude 5h across 3 seats: 41% used, next reset in 1h10m"
    only = team.for_seat(t, "alice")
    assert [v.name for v in only.seats] == ["alice"] and only.near_cap == [] and only.pooled[0].seats == 1
    assert team.team_json(only)["costs"]["by_seat_project"][0] == {"seat": "alice", "project": "web", "usd": 1.5,
                                                                   "calls": 3}


def test_a_flat_series_never_exhausts() -> None:
    rate = BurnRate(1e-18, None, 10, NOW - timedelta(hours=1), 0.4, NOW, None)
    p = project(rate, NOW + timedelta(hours=3), NOW)
    assert p.exhausts_at is None
