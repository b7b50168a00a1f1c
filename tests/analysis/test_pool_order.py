"""A pool's routing rule on top of the planner: hysteresis over alternating near-equal readings, pacing."""

from __future__ import annotations

import pytest

from quotawarden.analysis import planner, pool_order
from quotawarden.analysis.planner import Room

H = 3600.0


def pick(rules: pool_order.Rules, readings: dict[str, tuple[float, float]], current: str | None,
         held: frozenset[str] = frozenset(), paid: frozenset[str] = frozenset()) -> str:
    """readings: account -> (5h used ratio, seconds to its reset)."""
    opts = [planner.option(a, "claude", planner.PAID if a in paid else planner.INCLUDED, "GREEN",
                           rooms=[Room("5h", r, 1.0, t)]) for a, (r, t) in readings.items()]
    plan = planner.plan(opts, strategy=rules.strategy)
    return pool_order.order(plan.ranked, rules, current, held)[0].account_id


@pytest.mark.parametrize("strategy", ["headroom", "drain_soonest"])
def test_alternating_near_equal_readings_do_not_move_the_pool(strategy: str) -> None:
    """Readings that swap which account looks best by a hair every decision (1 point of use, 5 minutes of reset)
    keep the pool where it is; without the margins it flaps on every decision."""
    sticky, flappy = pool_order.Rules(strategy), pool_order.Rules(strategy, margin=0.0, margin_s=0.0)
    seq = [{"a": (0.40 + 0.01 * (i % 2), 2 * H + 300 * (i % 2)), "b": (0.40 + 0.01 * ((i + 1) % 2),
                                                                    2 * H + 300 * ((i + 1) % 2))}
           for i in range(10)]
    for rules, switches in ((sticky, 0), (flappy, 9)):
        current = None
        moves = 0
        for r in seq:
            chosen = pick(rules, r, current)
            moves += current is not None and chosen != current
            current = chosen
        assert moves == switches, rules


def test_a_real_difference_still_moves_the_pool() -> None:
    drain = pool_order.Rules("drain_soonest")
    assert pick(drain, {"a": (0.2, 4 * H), "b": (0.2, 0.5 * H)}, "a") == "b"  # resets 3.5 h sooner
    assert pick(drain, {"a": (0.2, 4 * H), "b": (0.2, 3.9 * H)}, "a") == "a"  # 6 minutes: not enough
    room = pool_order.Rules("headroom")
    assert pick(room, {"a": (0.50, H), "b": (0.40, H)}, "a") == "b"
    assert pick(room, {"a": (0.50, H), "b": (0.47, H)}, "a") == "a"


def test_the_current_account_leaves_when_it_leaves_its_tier_or_hits_its_cap() -> None:
    drain = pool_order.Rules("drain_soonest")
    assert pick(drain, {"a": (1.0, H), "b": (0.3, 4 * H)}, "a") == "b"  # at its cap: skipped by the planner
    # "a" answers from paid extra usage now: included capacity goes first whatever the margin
    assert pick(drain, {"a": (0.1, H), "b": (0.3, 1.1 * H)}, "a", paid=frozenset({"a"})) == "b"


def test_pacing_holds_back_an_account_ahead_of_its_line_within_its_tier_only() -> None:
    assert pool_order.ahead_of_pace(0.6, 4 * H, 5 * H, 0.0)  # one hour in, the line is at 20%
    assert not pool_order.ahead_of_pace(0.1, 4.5 * H, 5 * H, 0.0)
    assert not pool_order.ahead_of_pace(0.6, 4 * H, None, 0.0)  # no window length: never held
    paced = pool_order.Rules("drain_soonest", pacing=True)
    readings = {"a": (0.6, 4 * H), "b": (0.1, 4.5 * H)}
    assert pick(pool_order.Rules("drain_soonest"), readings, None, frozenset({"a"})) == "a"
    assert pick(paced, readings, None, frozenset({"a"})) == "b"
    assert pick(paced, readings, "a", frozenset({"a"})) == "b"  # hysteresis does not keep a held account
    # a paid key on pace never goes before included capacity that is ahead of its line
    assert pick(paced, readings, None, frozenset({"a", "b"}), paid=frozenset({"b"})) == "a"


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        pool_order.Rules("round_robin")


def test_drain_soonest_spends_the_weekly_allowance_that_expires_first_then_the_soonest_window() -> None:
    """With window lengths known, the allowance that expires (the longest window with room) decides; a 5h window
    only orders accounts whose allowances expire together."""
    def acct(i: str, reset_5h: float, reset_7d: float) -> planner.Option:
        return planner.option(i, "claude", planner.INCLUDED, "GREEN",
                              rooms=[Room("5h", 0.3, 1.0, reset_5h, length_s=5 * H),
                                     Room("7d", 0.3, 1.0, reset_7d, length_s=168 * H)])

    p = planner.plan([acct("soon-5h", 0.5 * H, 100 * H), acct("soon-week", 4 * H, 20 * H)], strategy="drain_soonest")
    assert [c.account_id for c in p.ranked] == ["soon-week", "soon-5h"]
    assert p.ranked[0].expires_t == 20 * H and p.ranked[0].window == "5h"
    p = planner.plan([acct("a", 4 * H, 100 * H), acct("b", 0.5 * H, 100 * H)], strategy="drain_soonest")
    assert [c.account_id for c in p.ranked] == ["b", "a"]
    # a week with no room left is not the allowance: the account's expiry falls back to what has room
    full = planner.option("full", "claude", planner.INCLUDED, "GREEN",
                          rooms=[Room("5h", 0.1, 1.0, H, length_s=5 * H),
                                 Room("7d", 1.0, 1.0, 5 * H, length_s=168 * H)])
    assert planner.expires(full) == H
