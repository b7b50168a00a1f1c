"""What ``next`` says about each account: a free tier is included capacity, a skipped account says why (the window
at its cap and its reset, LIMITED until when, INVALID and its cause), an account with no fresh reading is ranked
after the fresh ones and says how old its last reading is, and JSON ratios carry no float noise. An ambiguous plan
name (Claude's ``max``) is a config error naming file, line, field and the plans it could mean."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quotawarden.analysis import planner, rotation, tiers
from quotawarden.analysis.planner import Room, option, plan, plan_json
from quotawarden.analysis.status import HealthThresholds, evaluate
from quotawarden.app.planning import check_plans
from quotawarden.config import load_config
from quotawarden.domain import Account, AccountState, Outcome, QuotaSample, Source, Unit
from quotawarden.errors import ConfigError
from quotawarden.plugins import load_plugins

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
HOUR = 3600.0
AT = datetime.fromtimestamp(NOW, UTC)


def test_a_free_tier_key_is_included_capacity_spent_before_paid_keys() -> None:
    assert planner.capacity_of("api", "free") == planner.INCLUDED and planner.capacity_of("api") == planner.PAID
    assert planner.capacity_of("subscription", "free") == planner.INCLUDED and not planner.is_free("local", "free")
    rpd = Room("rpd", 0.1, 0.85, NOW + 5 * HOUR, length_s=86400)
    free = option("gemini-free", "gemini", planner.capacity_of("api", "free"), "GREEN", "OK",
                  (Room("rpm", 0.0, 0.85, NOW + 60, length_s=60), rpd), free=planner.is_free("api", "free"))
    key = option("openai-key", "openai", planner.capacity_of("api"), "GREEN", "OK", ())
    p = plan([key, free], now=NOW)
    assert [c.account_id for c in p.ranked] == ["gemini-free", "openai-key"]
    assert p.reason() == "gemini-free (free tier): rpm window at 0% resets in 1m — use it before it expires"
    assert "pay-as-you-go" not in p.reason()
    assert plan_json(p)["ranked"][0]["capacity"] == "included" and plan_json(p)["ranked"][0]["free_tier"] is True


def test_a_free_tier_from_the_accounts_plan_through_its_status() -> None:
    acc = Account("gemini-free", "gemini", plan="free")
    s = QuotaSample(observed_at=AT - timedelta(seconds=30), account_id=acc.id, window="rpd", unit=Unit.REQUESTS,
                    used=25, limit=250, resets_at=AT + timedelta(hours=5), window_length_s=86400,
                    source=Source.PROBE)
    (st,) = evaluate([acc], [s], {}, HealthThresholds(), AT)
    o = rotation.option(st, "api", now=AT)
    assert o.capacity == planner.INCLUDED and o.free and o.stale_s is None


def test_skipped_accounts_say_why() -> None:
    red = option("claude-red", "claude", "included", "RED", "OK", (Room("5h", 0.97, 0.9, NOW + 2 * HOUR + 600),),
                 reason="5h at 97% (cap 90%)")
    limited = option("gemini-lim", "gemini", "paid", "RED", "LIMITED", (), reason=(
        "LIMITED: gemini: quota exhausted (rpd), retry after 2027-01-15T16:00:00+00:00"), retry_t=NOW + 8 * HOUR)
    invalid = option("openai-bad", "openai", "paid", "RED", "INVALID", (),
                     reason="INVALID: openai: 401 invalid api key")
    outage = option("zai-down", "zai", "included", "RED", "OK", (Room("5h", 0.2, 0.9, NOW + HOUR),),
                    reason="service page: major outage")
    why = dict(plan([red, limited, invalid, outage], now=NOW).skipped)
    assert why == {
        "claude-red": "RED, 5h at its hard cap: 97% used (cap 90%), resets in 2h10m at 10:10 UTC",
        "gemini-lim": "LIMITED until 16:00 UTC (in 8h00m): gemini: quota exhausted (rpd)",
        "openai-bad": "INVALID: openai: 401 invalid api key",
        "zai-down": "RED: service page: major outage",
    }


def test_the_retry_time_travels_from_the_account_state_to_the_skip_reason() -> None:
    acc = Account("gemini-lim", "gemini")
    state = AccountState(acc.id, Outcome.LIMITED, "gemini: quota exhausted (rpm), retry in 40s", AT,
                         AT + timedelta(seconds=40))
    (st,) = evaluate([acc], [], {acc.id: state}, HealthThresholds(), AT)
    assert st.retry_at == AT + timedelta(seconds=40)
    p = plan(rotation.options([st], {"gemini": "api"}, now=AT), now=NOW)
    assert dict(p.skipped) == {"gemini-lim": "LIMITED until 08:00 UTC (in 40s): gemini: quota exhausted (rpm)"}


def test_an_account_without_a_fresh_reading_goes_after_fresh_ones_and_says_so() -> None:
    # a 5h window read 6h ago: reset since (analysis.health.freshness), so its 10% says nothing now
    old = QuotaSample(observed_at=AT - timedelta(hours=6), account_id="claude-old", window="5h",
                      unit=Unit.PERCENT, used_ratio=0.1, resets_at=AT - timedelta(hours=1), window_length_s=18000,
                      source=Source.PROBE)
    fresh = QuotaSample(observed_at=AT - timedelta(seconds=30), account_id="claude-new", window="5h",
                        unit=Unit.PERCENT, used_ratio=0.6, resets_at=AT + timedelta(hours=4), window_length_s=18000,
                        source=Source.PROBE)
    sts = evaluate([Account("claude-old", "claude"), Account("claude-new", "claude")], [old, fresh], {},
                   HealthThresholds(), AT)
    opts = rotation.options(sts, {"claude": "subscription"}, now=AT)
    for strategy in planner.STRATEGY_NAMES:
        p = plan(opts, now=NOW, strategy=strategy)
        assert [c.account_id for c in p.ranked] == ["claude-new", "claude-old"], strategy
        assert p.reason(p.ranked[1]) == "claude-old: usage unknown; included capacity; no fresh reading " \
                                        "(last read 6h00m ago)"
        row = plan_json(p)["ranked"][1]
        assert row["fresh"] is False and row["last_read_s"] == 6 * HOUR
        assert plan_json(p)["ranked"][0]["fresh"] is True


def test_json_ratios_are_rounded_at_the_output_only() -> None:
    o = option("c", "claude", "included", "GREEN", "OK", (Room("5h", 0.32, 0.8, NOW + HOUR),))
    p = plan([o], now=NOW)
    assert p.ranked[0].headroom == 0.8 - 0.32 == 0.48000000000000004  # the math keeps full precision
    text = json.dumps(plan_json(p))
    assert '"headroom": 0.48,' in text and "0000000" not in text


def test_an_ambiguous_plan_name_is_a_config_error_with_its_choices(tmp_path: Path) -> None:
    cat = tiers.load_catalog()
    assert tiers.plan_for(cat, "max", "claude") is None
    assert [p.id for p in tiers.ambiguous(cat, "max", "claude")] == ["claude-max-5x", "claude-max-20x"]
    assert tiers.plan_for(cat, "max_20x", "claude").id == "claude-max-20x"  # type: ignore[union-attr]
    advice = tiers.advise("seat", None, [], cat, named="max", provider="claude")
    assert advice.action == "unknown" and "claude-max-5x" in advice.rationale and "claude-max-20x" in advice.rationale
    path = tmp_path / "config.toml"
    path.write_text('[[accounts]]\nid = "seat"\nprovider = "claude"\nplan = "max"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        check_plans(load_config(path, load_plugins()))
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 4, "accounts[0].plan")
    assert str(err.value) == (f"{path}:4: accounts[0].plan: plan 'max' is ambiguous: write claude-max-5x "
                              "(Claude Max 5x) or claude-max-20x (Claude Max 20x)")
    path.write_text('[[accounts]]\nid = "seat"\nprovider = "claude"\nplan = "max_20x"\n', encoding="utf-8")
    check_plans(load_config(path, load_plugins()))  # one plan: fine


def test_a_free_tier_key_is_not_read_as_another_familys_free_plan() -> None:
    cat = tiers.load_catalog()
    assert tiers.plan_for(cat, "free", "gemini") is None
    assert tiers.plan_for(cat, "free", "copilot").id == "copilot-free"  # type: ignore[union-attr]
    advice = tiers.advise("gemini-free", None, [], cat, named="free", provider="gemini")
    assert advice.action == "unknown" and advice.rationale.startswith("a free tier: no plan to advise")


def test_allowances_expiring_within_the_same_day_go_by_the_sooner_5h_reset() -> None:
    def seat(i: str, week_in: float, five_h_in: float) -> planner.Option:
        return option(i, "claude", "included", "GREEN", "OK", (
            Room("5h", 0.2, 0.9, NOW + five_h_in, length_s=18000), Room("7d", 0.5, 0.9, NOW + week_in,
                                                                     length_s=7 * 86400)))
    # weeks ending in 3h and 20h are both urgent: the 5h room lost first goes first; a week ending in 3 days waits
    p = plan([seat("week-3h", 3 * HOUR, 4 * HOUR), seat("week-20h", 20 * HOUR, HOUR),
              seat("week-3d", 72 * HOUR, 0.5 * HOUR)], now=NOW)
    assert [c.account_id for c in p.ranked] == ["week-20h", "week-3h", "week-3d"]
