"""The waste use case: each included window's cycles and unused share, and the paid fall-back spend that included
capacity could have carried (``analysis.cycles``), read from the store (``store.waste_inputs``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from quotawarden.analysis import cycles, planner, tiers
from quotawarden.analysis.burn import Point
from quotawarden.domain import Account
from quotawarden.spec import PAID_KINDS, QUOTA_FREE_KINDS
from quotawarden.store import Store, waste_inputs

LEAD_IN = timedelta(days=1)
"""Readings this long before the period are read too: the headroom at its start, the first cycle's readings."""


def quota_accounts(accounts: Sequence[Account], kinds: Mapping[str, str]) -> list[Account]:
    """Accounts that have a quota to watch: all but local servers and tools."""
    return [a for a in accounts if kinds.get(a.provider) not in QUOTA_FREE_KINDS]


def has_included(account: Account, kinds: Mapping[str, str], catalog: Sequence[tiers.Plan]) -> bool:
    """A subscription (by its provider's kind, or a catalog plan other than pay-as-you-go) or an API key's free tier
    (``plan = "free"``): its windows are included capacity that expires."""
    plan = tiers.plan_for(catalog, account.plan, account.provider)
    return planner.capacity_of(kinds.get(account.provider), account.plan) == planner.INCLUDED or (
        plan is not None and plan.id != "api")


def waste(store: Store, accounts: Sequence[Account], kinds: Mapping[str, str], now: datetime,
          days: float = 30) -> cycles.Waste:
    since = now - timedelta(days=days)
    catalog = tiers.load_catalog()
    quota = quota_accounts(accounts, kinds)
    included = [a for a in quota if has_included(a, kinds, catalog)]
    payers = [a for a in quota if a not in included and kinds.get(a.provider, "api") in PAID_KINDS]
    wk = waste_inputs.window_kinds(store)
    rows = waste_inputs.readings(store, (since - LEAD_IN).timestamp(), now.timestamp(), [a.id for a in included])
    series: list[cycles.WindowSeries] = []
    spends: list[cycles.Spend] = []
    for (acc, window), pts in rows.items():
        length, unit = wk.get((acc, window), (None, "percent"))
        points = [Point(*r) for r in pts]
        if cycles.included_window(unit, length):
            series.append(cycles.WindowSeries(acc, window, points, length))
        elif unit == "usd":  # a subscription's extra usage, in dollars
            spends += cycles.extra_usage_spends(acc, points)
    spends += [cycles.Spend(t, acc, usd) for t, acc, usd in
               waste_inputs.paid_usage(store, since.timestamp(), now.timestamp(), [a.id for a in payers])]
    return cycles.waste(series, sorted(spends, key=lambda s: s.t), now, since,
                        pools={a.id: a.pool for a in quota}, accounts=[a.id for a in [*included, *payers]])
