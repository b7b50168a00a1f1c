"""The planner: included capacity that expires soonest first while its pace allows it, paid fall-backs only when no
included capacity is left, local servers last for heavy work, task classes from [planner]."""

from __future__ import annotations

import pytest

from quotawarden.analysis import planner
from quotawarden.analysis.planner import Option, PoolSpec, Room, option, plan, plan_json, settings_from_mapping

NOW = 1_800_000_000.0
MIN, HOUR = 60.0, 3600.0


def sub(i: str, ratio: float | None = 0.3, reset_s: float = 2 * HOUR, *, provider: str = "claude",
        reaches_cap: bool = False, level: str = "GREEN", outcome: str = "OK", pool: str | None = None,
        cap: float = 0.8) -> Option:
    return option(i, provider, "included", level, outcome, (Room("5h", ratio, cap, NOW + reset_s, reaches_cap),),
                  pool)


def paid(i: str, provider: str = "openai", level: str = "GREEN") -> Option:
    return option(i, provider, "paid", level, "OK", (Room("balance", 0.2, 0.85, None),))


def local(i: str, provider: str = "ollama", outcome: str = "OK") -> Option:
    return option(i, provider, "local", "UNKNOWN", outcome, ())


def ids(p: planner.Plan) -> list[str]:
    return [c.account_id for c in p.ranked]


def test_capacity_that_expires_soonest_goes_first() -> None:
    p = plan([sub("claude-a", 0.3, 4 * HOUR), sub("claude-b", 0.3, 30 * MIN)], now=NOW)
    assert ids(p) == ["claude-b", "claude-a"]
    assert p.reason() == "claude-b: 5h window at 30% resets in 30m — use it before it expires"
    assert plan_json(p)["account"] == "claude-b" and plan_json(p)["window"] == "5h"
    # the older order (headroom) would not tell them apart by expiry first: same headroom, then the sooner reset
    assert ids(plan([sub("a", 0.2, 4 * HOUR), sub("b", 0.3, 30 * MIN)], now=NOW, strategy="headroom")) == ["a", "b"]
    assert ids(plan([sub("a", 0.2, 4 * HOUR), sub("b", 0.3, 30 * MIN)], now=NOW)) == ["b", "a"]


def test_an_account_that_would_reach_its_cap_before_reset_is_not_drained_first() -> None:
    hot = sub("hot", 0.6, 20 * MIN, reaches_cap=True)
    p = plan([hot, sub("calm", 0.3, 4 * HOUR)], now=NOW)
    assert ids(p) == ["calm", "hot"]
    assert not p.ranked[1].pace_ok and "would reach a cap before its reset" in p.reason(p.ranked[1])


def test_drain_window_is_the_soonest_with_room_and_headroom_the_tightest() -> None:
    o = option("c", "claude", "included", "GREEN", "OK",
               (Room("5h", 0.1, 0.8, NOW + HOUR), Room("7d", 0.7, 0.9, NOW + 50 * HOUR)))
    c = plan([o], now=NOW).ranked[0]
    assert c.window == "5h" and c.binding == "7d" and round(c.headroom or 0, 6) == 0.2


def test_paid_fall_backs_only_when_no_included_capacity_is_left() -> None:
    p = plan([paid("openai-key"), sub("claude-a", 0.5)], now=NOW)
    assert ids(p) == ["claude-a", "openai-key"]
    spent = sub("claude-a", 0.8)  # at its 80 % hard cap
    p = plan([paid("openai-key"), spent, sub("claude-b", level="RED", outcome="LIMITED")], now=NOW)
    assert ids(p) == ["openai-key"]
    assert dict(p.skipped) == {"claude-a": "5h at its hard cap: 80% used (cap 80%), resets in 2h00m at 10:00 UTC",
                               "claude-b": "LIMITED"}
    assert p.reason() == "openai-key: pay-as-you-go, no included capacity left"


def test_extra_usage_is_a_paid_fall_back_not_included_capacity() -> None:
    over = sub("claude-x", 0.99, level="RED", outcome="OVERAGE", cap=1.01)
    p = plan([over, sub("claude-y", 0.4)], now=NOW)
    assert ids(p) == ["claude-y", "claude-x"] and p.ranked[1].capacity == "paid"
    assert p.reason(p.ranked[1]).startswith("claude-x: paid extra usage")


def test_local_servers_last_for_heavy_work_and_allowed_for_light_work() -> None:
    opts = [local("gpu-box"), paid("openai-key"), sub("claude-a", 0.5)]
    assert ids(plan(opts, task="heavy", now=NOW)) == ["claude-a", "openai-key", "gpu-box"]
    assert ids(plan(opts, task="light", now=NOW)) == ["claude-a", "gpu-box", "openai-key"]
    # the local box reads 0 % used: it must not win over included capacity
    assert plan([local("gpu-box"), sub("claude-a", 0.7)], now=NOW).best.account_id == "claude-a"  # type: ignore[union-attr]
    assert plan([local("gpu-box", outcome="UNREACHABLE")], now=NOW).skipped == [
        ("gpu-box", "local server not answering (UNREACHABLE)")]


def test_task_classes_from_config() -> None:
    cfg = settings_from_mapping({
        "default_task": "review",
        "tasks": {"heavy": {"tiers": ["included", "paid"], "models": {"claude": "claude-opus-4"}},
                  "review": {"tiers": ["local", "included"], "providers": ["ollama", "codex"],
                             "models": {"ollama": "qwen2.5-coder:32b"}}},
        "capacity": {"my-vllm": "local"},
    })
    opts = [local("gpu-box"), sub("claude-a", 0.5, HOUR), sub("codex-a", 0.2, provider="codex"),
            option("vllm", "my-vllm", "paid", "GREEN")]
    heavy = plan(opts, cfg, task="heavy", now=NOW)
    assert ids(heavy) == ["claude-a", "codex-a"] and heavy.best and heavy.best.model == "claude-opus-4"
    assert dict(heavy.skipped)["gpu-box"] == "a local server: not used for heavy work"
    assert dict(heavy.skipped)["vllm"] == "a local server: not used for heavy work"  # [planner.capacity] wins
    review = plan(opts, cfg, now=NOW)  # the default task
    assert review.task == "review" and ids(review) == ["gpu-box", "codex-a"]
    assert review.best and review.best.model == "qwen2.5-coder:32b"
    assert dict(review.skipped)["claude-a"] == "claude does not serve review work"
    with pytest.raises(ValueError, match="unknown task class 'huge'"):
        plan(opts, cfg, task="huge")
    with pytest.raises(ValueError, match="unknown strategy"):
        plan(opts, cfg, strategy="random")


def test_pools_and_their_fallbacks_come_before_capacity_tiers() -> None:
    pools = [PoolSpec("team", ("claude-a", "claude-b"), ("openai",))]
    opts = [sub("claude-a", 0.3, 3 * HOUR), sub("claude-b", 0.3, HOUR), paid("openai-key"), sub("other", 0.1)]
    p = plan(opts, pool="team", pools=pools, now=NOW)
    assert ids(p) == ["claude-b", "claude-a", "openai-key"] and p.chain == ["team", "openai"]
    assert [c.chain for c in p.ranked] == [0, 0, 1]


def test_unknown_usage_goes_after_known_room_and_reports_only_kinds_are_never_candidates() -> None:
    p = plan([sub("fresh", None), sub("known", 0.5), option("admin", "openai_admin", planner.capacity_of("admin"))],
             now=NOW)
    assert ids(p) == ["known", "fresh"] and p.skipped == []


def test_builtin_kinds_match_the_registry() -> None:
    from quotawarden.plugins import load_plugins

    registry = {slug: spec.kind for slug, spec in load_plugins().providers.items()}  # the built-ins are entry points
    assert registry and {k: v for k, v in planner.BUILTIN_KINDS.items() if k in registry} == registry


def test_rank_for_the_proxy_takes_either_strategy_and_keeps_capacity_tiers() -> None:
    from datetime import UTC, datetime

    from quotawarden.analysis import rotation
    from quotawarden.domain import Health, Outcome

    def cand(i: str, room: float, reset_s: float, capacity: str = "included") -> rotation.Candidate:
        return rotation.Candidate(i, "claude", "pool", Health.GREEN, Outcome.OK, room, "5h",
                                  datetime.fromtimestamp(NOW + reset_s, UTC), capacity=capacity)

    cands = [cand("roomy-late", 0.6, 4 * HOUR), cand("soon", 0.5, 30 * MIN), cand("box", 1.0, 0, "local")]
    pools = [PoolSpec("pool", ("roomy-late", "soon", "box"))]
    assert [r.account_id for r in rotation.rank(cands, pools, "pool").ranked] == ["roomy-late", "soon", "box"]
    drain = rotation.rank(cands, pools, "pool", strategy="drain_soonest")
    assert [r.account_id for r in drain.ranked] == ["soon", "roomy-late", "box"]
    assert drain.best and drain.best.resets_at == datetime.fromtimestamp(NOW + 30 * MIN, UTC)


def test_planner_config_errors_name_file_line_and_field() -> None:
    from quotawarden.config import from_text
    from quotawarden.errors import ConfigError
    from quotawarden.plugins import load_plugins

    plugins = load_plugins()
    ok = from_text('[planner]\nstrategy = "headroom"\n[planner.tasks.heavy]\ntiers = ["included", "paid"]\n'
                   'models = { claude = "claude-opus-4" }\n', None, plugins)
    cfg = settings_from_mapping(ok.settings.planner.model_dump())
    assert cfg.strategy == "headroom" and cfg.task("heavy").tiers == ("included", "paid")
    assert cfg.task("heavy").models == {"claude": "claude-opus-4"} and cfg.task("light").tiers[1] == "local"
    cases = [
        ('[planner]\nstrategy = "random"\n', 2, "planner.strategy"),
        ('[planner]\ndefault_task = "huge"\n', 1, "planner"),
        ('[planner.tasks.light]\ntiers = ["cloud"]\n', 2, "planner.tasks.light.tiers[0]"),
        ('[planner.tasks.heavy]\n\nproviders = ["claude", "codx"]\n', 3, "planner.tasks.heavy.providers"),
        ('[planner.capacity]\nmy-vllm = "local"\n', 2, "planner.capacity.my-vllm"),
    ]
    for text, line, field in cases:
        with pytest.raises(ConfigError) as err:
            from_text(text, None, plugins)
        assert (err.value.line, err.value.field) == (line, field), (text, str(err.value))


def test_one_models_weekly_cap_skips_the_account_only_for_that_model() -> None:
    """Claude with 7d_opus at 100%: still usable for a sonnet or light task, not for an opus-configured one."""
    rooms = (Room("5h", 0.2, 0.8, NOW + HOUR, length_s=18000), Room("7d", 0.4, 0.8, NOW + 3 * 86400, length_s=604800),
             Room("7d_opus", 1.0, 0.8, NOW + 3 * 86400, length_s=604800))
    claude = option("claude-a", "claude", "included", "YELLOW", "OK", rooms)
    cfg = settings_from_mapping({"tasks": {"heavy": {"models": {"claude": "claude-opus-4-1"}},
                                           "review": {"models": {"claude": "claude-sonnet-4-5"}}}})
    opus = plan([claude, paid("openai-a")], cfg, task="heavy", now=NOW)
    assert ids(opus) == ["openai-a"] and dict(opus.skipped) == {
        "claude-a": "7d_opus at its hard cap: 100% used (cap 80%), resets in 3d00h at Jan 18 08:00 UTC"}
    for task in ("review", "light"):  # a sonnet task, and a class with no model set
        p = plan([claude, paid("openai-a")], cfg, task=task, now=NOW)
        assert ids(p)[0] == "claude-a" and not p.skipped, task
        assert p.best is not None and p.best.binding != "7d_opus" and p.best.headroom == pytest.approx(0.4)
    assert planner.applies("7d_opus", "claude-opus-4-1") and not planner.applies("7d_opus", "claude-sonnet-4-5")
    assert planner.applies("5h", None) and not planner.applies("7d_opus", None)


def test_an_antigravity_models_exhausted_quota_is_that_models() -> None:
    """Antigravity and Gemini CLI name each model's quota after the model: a model-scoped cap like ``7d_opus``."""
    from quotawarden.analysis.health import for_account
    from quotawarden.domain import window_scope

    assert window_scope("claude-sonnet-4-5") == "claude-sonnet-4-5" and window_scope("gemini-2.5-pro") is not None
    assert window_scope("rpm") is None and window_scope("credits") is None and window_scope("5h_MiniMax-M2") is not None
    assert for_account("claude-sonnet-4-5", "RED") == "YELLOW"  # the account's other models still answer
    rooms = (Room("claude-sonnet-4-5", 1.0, 1.0, NOW + HOUR), Room("gemini-3-pro-high", 0.3, 1.0, NOW + 2 * HOUR))
    ag = option("antigravity:work@gmail.com", "antigravity_quota", "included", "YELLOW", "OK", rooms)
    cfg = settings_from_mapping({"tasks": {"heavy": {"models": {"antigravity_quota": "claude-sonnet-4-5"}},
                                           "light": {"models": {"antigravity_quota": "gemini-3-pro-high"}}}})
    assert dict(plan([ag], cfg, task="heavy", now=NOW).skipped) == {
        ag.account_id: "claude-sonnet-4-5 at its hard cap: 100% used (cap 100%), resets in 1h00m at 09:00 UTC"}
    light = plan([ag], cfg, task="light", now=NOW)
    assert ids(light) == [ag.account_id] and light.best is not None and light.best.window == "gemini-3-pro-high"
    anything = plan([ag], now=NOW).best  # no model set: measured by the models with room left
    assert anything is not None and anything.headroom == pytest.approx(0.7) and anything.binding == "gemini-3-pro-high"
