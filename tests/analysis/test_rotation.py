"""Rotation: pool members ranked by headroom until reset, skipping LIMITED/INVALID/RED, then fallback tiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quotawarden.analysis.health import Policy
from quotawarden.analysis.rotation import PoolSpec, candidates, fallback_chain, rank, rotation_json
from quotawarden.analysis.status import HealthThresholds, evaluate
from quotawarden.domain import Account, AccountState, Outcome, QuotaSample, Source, Unit

NOW = datetime(2026, 8, 20, 14, 0, tzinfo=UTC)


def acc(i: str, provider: str = "claude", pool: str | None = "team") -> Account:
    return Account(id=i, provider=provider, pool=pool)


def smp(account: str, ratio: float, window: str = "5h", reset_h: float = 2) -> QuotaSample:
    return QuotaSample(NOW, account, window, Unit.PERCENT, Source.PROBE, used_ratio=ratio,
                       resets_at=NOW + timedelta(hours=reset_h), window_length_s=18000)


def statuses(states: dict[str, AccountState] | None = None):  # type: ignore[no-untyped-def]
    accounts = [acc("a"), acc("b"), acc("c"), acc("d"), acc("e"), acc("gem", "gemini", None),
                acc("local", "ollama", None)]
    latest = [smp("a", 0.30), smp("a", 0.70, "7d", 50), smp("b", 0.20), smp("c", 0.20, reset_h=1),
              smp("d", 0.10), smp("e", 0.95), smp("gem", 0.5, "daily")]
    return evaluate(accounts, latest, states or {}, HealthThresholds(), NOW, policy=Policy(), rates={})


def test_rank_by_headroom_then_sooner_reset_and_skip() -> None:
    st = statuses({"d": AccountState("d", Outcome.LIMITED, "429")})
    pools = [PoolSpec("team", fallback=("gemini", "local")), PoolSpec("local", accounts=("local",))]
    rot = rank(candidates(st, Policy()), pools, "team")
    assert [r.account_id for r in rot.ranked] == ["c", "b", "a", "gem", "local"]
    assert [r.tier for r in rot.ranked] == [0, 0, 0, 1, 2]
    # a: 7d at 70% against the claude 7d cap of 90% binds (20%), 5h has 50% left
    a = next(r for r in rot.ranked if r.account_id == "a")
    assert a.binding_window == "7d" and round(a.headroom or 0, 6) == 0.2
    c = rot.ranked[0]
    assert round(c.headroom or 0, 6) == 0.6 and c.binding_window == "5h"
    why = dict(rot.skipped)
    assert why.keys() == {"d", "e"} and why["d"] == "LIMITED"
    assert why["e"].startswith("RED, 5h at its hard cap: 95% used (cap 80%), resets ")
    assert rot.best is not None and rot.best.account_id == "c"
    assert rotation_json(rot)["chain"] == ["team", "gemini", "local"]


def test_fallback_chain_cuts_cycles() -> None:
    pools = [PoolSpec("x", fallback=("y",)), PoolSpec("y", fallback=("x", "z"))]
    assert fallback_chain(pools, "x") == ["x", "y", "z"]


def test_empty_pool_has_no_best() -> None:
    assert rank([], [PoolSpec("team")], "team").best is None
