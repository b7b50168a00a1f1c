"""Planner use case: the account statuses, the installed providers' kinds and the ``[planner]`` settings handed to
:func:`quotawarden.analysis.planner.plan` (``quotawarden next``, MCP ``recommend_account``, ``/v1/status``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from quotawarden.analysis import planner, rotation, tiers
from quotawarden.analysis.health import Policy
from quotawarden.analysis.status import AccountStatus
from quotawarden.config import Config, Settings, locate
from quotawarden.errors import ConfigError
from quotawarden.plugins import Plugins


def kinds(plugins: Plugins) -> dict[str, str]:
    """Provider slug -> its ``ProviderSpec.kind`` (the one home of included / paid / local)."""
    return {slug: spec.kind for slug, spec in plugins.providers.items()}


def planner_settings(settings: Settings) -> planner.PlannerSettings:
    return planner.settings_from_mapping(settings.planner.model_dump())


def pool_specs(settings: Settings) -> list[planner.PoolSpec]:
    return [planner.PoolSpec(p.name, tuple(p.accounts), tuple(p.fallback)) for p in settings.pools]


def next_plan(sts: Sequence[AccountStatus], settings: Settings, kinds_: Mapping[str, str], policy: Policy | None,
              now: datetime, *, task: str | None = None, pool: str | None = None,
              strategy: str | None = None) -> planner.Plan:
    """Which account next for ``task`` (default: ``[planner] default_task``), in ``pool`` and its fallbacks when
    given. Raises ``ValueError`` for an unknown task class, strategy or pool."""
    specs = pool_specs(settings)
    if pool and pool not in {p.name for p in specs} and not any(
            pool in (s.account.pool, s.account.provider) for s in sts):
        known = sorted({p.name for p in specs} | {s.account.pool for s in sts if s.account.pool})
        raise ValueError(f"unknown pool {pool!r} (known: {', '.join(known) or 'none; add [[pools]]'})")
    policy = policy or Policy.from_mapping(settings.thresholds.model_dump())  # as the fast paths read the raw file
    return planner.plan(rotation.options(sts, kinds_, policy, now), planner_settings(settings), task=task, pool=pool,
                        pools=specs, now=now.timestamp(), strategy=strategy)


def check_plans(config: Config, catalog: Sequence[tiers.Plan] | None = None) -> None:
    """Refuse an account ``plan`` that fits more than one catalog plan (Claude's ``max``: Max 5x or Max 20x), with
    the file, line and field and the plans it could mean: plan advice read against the wrong one is off by the
    ratio between them."""
    if not any(a.plan for a in config.settings.accounts):
        return
    catalog = catalog if catalog is not None else tiers.load_catalog()
    for i, acc in enumerate(config.settings.accounts):
        fits = tiers.ambiguous(catalog, acc.plan, acc.provider)
        if not fits or acc.plan is None:
            continue
        text = ""
        if config.path is not None:
            try:
                text = config.path.read_text(encoding="utf-8")
            except OSError:
                text = ""
        raise ConfigError(tiers.ambiguity(fits, acc.plan), file=str(config.path) if config.path else "<config>",
                          line=locate(text, ("accounts", i, "plan")) if text else None, field=f"accounts[{i}].plan")
