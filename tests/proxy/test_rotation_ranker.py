"""The proxy routes a pool by the analysis layer's rotation ranking, fed with the readings of its own traffic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from quotawarden.analysis.health import Policy
from quotawarden.app.proxy import RotationRanker
from quotawarden.domain import QuotaSample, Source, Unit

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def reading(account: str, window: str, ratio: float, resets_in_h: float = 2.0) -> QuotaSample:
    return QuotaSample(observed_at=NOW, account_id=account, window=window, unit=Unit.PERCENT, source=Source.PROXY,
                       used_ratio=ratio, resets_at=NOW + timedelta(hours=resets_in_h))


def test_headroom_to_the_hard_cap_orders_the_pool_and_equals_take_turns() -> None:
    ranker = RotationRanker({i: "claude" for i in "abcde"}, Policy())
    latest = {"a": [reading("a", "5h", 0.70)],  # 10% below the claude 5h cap of 80%
              "b": [reading("b", "5h", 0.20), reading("b", "7d", 0.25)],
              "c": [reading("c", "5h", 0.203)],  # within 1% of b: they take turns
              "d": [reading("d", "5h", 0.95)],  # over its cap: tried last
              "e": []}  # nothing seen yet: after every known headroom
    orders = [ranker(list("abcde"), latest, NOW) for _ in range(4)]
    assert Counter(o[0] for o in orders) == {"b": 2, "c": 2}
    assert all(o[2:] == ["a", "e", "d"] for o in orders)


def test_a_window_that_has_reset_counts_as_empty_and_custom_caps_apply() -> None:
    ranker = RotationRanker({"x": "openai", "y": "openai"}, Policy(hard_caps={"openai/tpm": 0.5}))
    latest = {"x": [reading("x", "tpm", 0.45)], "y": [reading("y", "tpm", 0.99, resets_in_h=-0.1)]}
    assert ranker(["x", "y"], latest, NOW) == ["y", "x"]


def test_a_free_tier_key_in_a_pool_is_spent_before_a_paid_key() -> None:
    from quotawarden.sources.proxy.model import PoolDef

    kinds = {"gemini": "api", "openai": "api"}
    pool = PoolDef("mixed", ("paid-key", "free-key"))
    latest = {"paid-key": [reading("paid-key", "rpm", 0.0)], "free-key": [reading("free-key", "rpd", 0.6)]}
    paid_first = RotationRanker({"paid-key": "openai", "free-key": "gemini"}, Policy(), kinds)
    assert paid_first.order(pool, ["paid-key", "free-key"], latest, NOW)[0] == "paid-key"  # both paid: headroom
    ranker = RotationRanker({"paid-key": "openai", "free-key": "gemini"}, Policy(), kinds, plans={"free-key": "free"})
    assert ranker.order(pool, ["paid-key", "free-key"], latest, NOW) == ["free-key", "paid-key"]
