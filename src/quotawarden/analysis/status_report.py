"""The ``status`` report (``quotawarden status`` and ``status --json``) from what the store holds, in one place.

Pure: the full store (``app.reports``) and the fast path (``interfaces.fast.status`` over ``store.quick``) read the
same rows their own way and hand them here, so both answer with the same report, key for key. The steps: counted
windows join the latest readings (:func:`counted_samples`), readings are reconciled across sources
(``analysis.reconcile``), each window is judged (``analysis.status.evaluate``), then the documented JSON shape
(``analysis.status.status_json``) gets the status pages and the local servers' details.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis import counting, reconcile
from quotawarden.analysis.burn import BurnRate, Point, burn_rate
from quotawarden.analysis.health import Policy
from quotawarden.analysis.status import AccountStatus, HealthThresholds, evaluate, overall, status_json
from quotawarden.domain import Account, AccountState, QuotaSample

READINGS_HORIZON_S = 86400.0
"""How far back an official reading is looked for when the newest sample of a window is an estimate."""
LOCAL_KINDS = frozenset({"local", "tool"})
"""Provider kinds that read a machine, not a quota (``ProviderSpec.kind``): never capacity for work."""
SHOWN_DETAILS = ("state", "models", "memory", "mcp_servers", "last_activity", "errors_24h", "installed")

Buckets = Mapping[tuple[str, str], Sequence[tuple[Any, ...]]]
"""(account id, window) -> its recent samples in buckets, oldest first, in ``analysis.burn.Point`` order."""
Pages = Mapping[str, tuple[str, str, float]]
"""provider -> (state, description, observed epoch seconds) of its status page's recent reading."""


def rates(buckets: Buckets) -> dict[tuple[str, str], BurnRate]:
    return {k: burn_rate([Point(*r) for r in rows]) for k, rows in buckets.items()}


def counted_limits(accounts: Sequence[Account]) -> dict[str, counting.Limits]:
    """Account id -> its configured limits (``analysis.counting``), for the accounts that set any."""
    return {a.id: lim for a in accounts if (lim := counting.limits_of(a)) is not None}


def counted_samples(limits: Mapping[str, counting.Limits], counts: Mapping[str, tuple[int, int, int, int]],
                    now: datetime) -> list[QuotaSample]:
    """The estimated windows of the accounts with limits, from what the store counted for each."""
    return [s for aid, lim in limits.items()
            for s in counting.samples(aid, lim, counting.Counts(*counts.get(aid, (0, 0, 0, 0))), now)]


def reading_scope(latest: Sequence[QuotaSample], account_ids: Sequence[str] | None
                  ) -> tuple[list[str], list[str]] | None:
    """(account ids, window names) whose per-source readings reconcile ``latest``; None when there is nothing."""
    if not latest:
        return None
    ids = sorted({s.account_id for s in latest}) if account_ids is None else list(account_ids)
    return ids, sorted({s.window for s in latest})


def statuses(accounts: Sequence[Account], latest: Sequence[QuotaSample], per_source: Iterable[QuotaSample],
             states: Mapping[str, AccountState], policy: Policy, now: datetime, *,
             rates: Mapping[tuple[str, str], BurnRate], errors: Mapping[str, float],
             services: Mapping[str, str]) -> list[AccountStatus]:
    """Every account's status: one reading per window (``latest`` reconciled with ``per_source``), judged."""
    one = reconcile.reconcile(per_source, now, latest) if latest else {}
    sts = evaluate(accounts, reconcile.chosen_samples(one), states, HealthThresholds(), now, policy=policy,
                   rates=rates, errors=errors, services=services)
    return reconcile.annotate(sts, one)


def pages_json(pages: Pages) -> dict[str, dict[str, Any]]:
    """provider -> its status page's reading (``state``, ``description``, ``observed_at``), by provider."""
    return {p: {"state": state, "description": desc, "observed_at": datetime.fromtimestamp(ts, UTC).isoformat()}
            for p, (state, desc, ts) in sorted(pages.items())}


def local_ids(report: Mapping[str, Any], kinds: Mapping[str, str]) -> list[str]:
    """The report's local server and tool accounts, whose stored details it shows."""
    return [a["id"] for a in report["accounts"] if kinds.get(a["provider"]) in LOCAL_KINDS]


def add_details(report: dict[str, Any], stored: Mapping[str, Mapping[str, Any]]) -> None:
    """``details`` of each local server and tool account (what its last probe read: loaded models, memory, MCP
    servers, activity); they describe a machine, not quota capacity."""
    for a in report["accounts"]:
        if a["id"] in stored:
            a["details"] = {k: v for k, v in stored[a["id"]].items() if k in SHOWN_DETAILS}


def report(sts: Sequence[AccountStatus], now: datetime, pages: Pages) -> dict[str, Any]:
    """The documented shape of ``status --json`` (docs/status-json.md) with the status pages; local details are
    added by :func:`add_details`."""
    out = status_json(sts, overall(sts), now)
    out["services"] = pages_json(pages)
    return out
