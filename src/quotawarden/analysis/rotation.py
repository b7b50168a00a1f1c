"""Which account to use next in a pool: :func:`quotawarden.analysis.planner.plan` over the pool's members and its
fallback tiers, with the pool's view of each account (:class:`Candidate`, :class:`Ranked`, :class:`Rotation`).

Pure and cheap (no I/O, no clock): the proxy calls :func:`rank` on every routing decision with the statuses it
already holds; ``quotawarden analyze rotation`` prints the same answer. Typical use::

    statuses = service.status()                       # list[AccountStatus]
    pools = service.pool_specs()                      # list[PoolSpec] from [[pools]]
    rotation = rank(candidates(statuses, policy, kinds), pools, "claude-team", strategy="drain_soonest")
    rotation.best  # -> Ranked | None: the account to send the next request to

:func:`options` turns statuses into the planner's :class:`~quotawarden.analysis.planner.Option` values (what
``quotawarden next``, MCP ``recommend_account`` and ``/v1/status`` rank).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis import planner
from quotawarden.analysis.health import Policy
from quotawarden.analysis.planner import INCLUDED, PoolSpec, Room, fallback_chain
from quotawarden.analysis.status import AccountStatus, WindowStatus
from quotawarden.domain import Health, Outcome, Unit

__all__ = ["Candidate", "PoolSpec", "Ranked", "Rotation", "candidates", "fallback_chain", "members", "option",
           "options", "rank", "rotation_json", "skip_reason"]

SKIP_OUTCOMES = frozenset({Outcome.LIMITED, Outcome.INVALID})


@dataclass(frozen=True, slots=True)
class Candidate:
    account_id: str
    provider: str
    pool: str | None
    health: Health
    outcome: Outcome
    headroom: float | None
    """Fraction of the binding (tightest) window left before its hard cap; None when unknown."""
    binding_window: str | None = None
    resets_at: datetime | None = None
    exhausts_before_reset: bool = False
    capacity: str | None = INCLUDED
    """The planner's capacity tier (``included``, ``paid``, ``local``; None serves no work)."""
    rooms: tuple[Room, ...] = ()
    """Every window as the planner weighs it; empty: the binding window alone, from the fields above."""


@dataclass(frozen=True, slots=True)
class Ranked:
    account_id: str
    provider: str
    pool: str
    tier: int
    """0 for the requested pool, 1 for its first fallback, ..."""
    headroom: float | None
    binding_window: str | None
    resets_at: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class Rotation:
    pool: str
    ranked: list[Ranked]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(account id, why) for every member that was not eligible."""
    chain: list[str] = field(default_factory=list)

    @property
    def best(self) -> Ranked | None:
        return self.ranked[0] if self.ranked else None


def rooms(st: AccountStatus, policy: Policy | None = None) -> tuple[Room, ...]:
    """The windows of one status as the planner weighs them: hard cap from the policy (or the window's own), the
    reset, and whether it is projected to reach its cap before its reset (``analysis.burn``)."""
    pol = policy or Policy()
    out = []
    for w in st.windows:
        cap = float(w.extra.get("hard_cap") or pol.cap(st.account.provider, w.name))
        out.append(Room(w.name, w.sample.effective_ratio, cap,
                        w.sample.resets_at.timestamp() if w.sample.resets_at else None, w.cap_reached_at is not None,
                        w.sample.window_length_s))
    return tuple(out)


def _quota_window(w: WindowStatus, capacity: str | None) -> bool:
    """Money windows (Claude's extra usage in USD) are not included capacity."""
    return not (capacity == INCLUDED and w.sample.unit is Unit.USD)


def option(st: AccountStatus, kind: str | None, policy: Policy | None = None, now: datetime | None = None
           ) -> planner.Option:
    """One status as the planner's :class:`~quotawarden.analysis.planner.Option`; ``kind`` is the provider's
    ``ProviderSpec.kind``; a free tier (``plan = "free"``) is included capacity. With ``now``, an account whose
    every reading is stale (``analysis.health.freshness``) says how old its last one is."""
    capacity = planner.capacity_of(kind, st.account.plan)
    kept = [w for w in st.windows if _quota_window(w, capacity)]
    sub = AccountStatus(st.account, st.status, st.reason, st.outcome, kept, st.observed_at)
    stale_s = None
    if now is not None and st.windows and all(w.stale for w in st.windows) and st.observed_at is not None:
        stale_s = max(0.0, (now - st.observed_at).total_seconds())
    return planner.option(st.account.id, st.account.provider, capacity, st.status.value, st.outcome.value,
                          rooms(sub, policy), st.account.pool, reason=st.reason, stale_s=stale_s,
                          retry_t=st.retry_at.timestamp() if st.retry_at else None,
                          free=planner.is_free(kind, st.account.plan))


def options(statuses: Sequence[AccountStatus], kinds: Mapping[str, str], policy: Policy | None = None,
            now: datetime | None = None) -> list[planner.Option]:
    """Every status as a planner option; ``kinds`` maps provider slugs to their ``ProviderSpec.kind``."""
    return [option(st, kinds.get(st.account.provider), policy, now) for st in statuses]


def candidates(statuses: Sequence[AccountStatus], policy: Policy | None = None,
               kinds: Mapping[str, str] | None = None) -> list[Candidate]:
    """One candidate per account; headroom is measured against each window's hard cap. Without ``kinds`` every
    account counts as included capacity."""
    out = []
    for st in statuses:
        capacity = planner.capacity_of(kinds.get(st.account.provider), st.account.plan) if kinds is not None \
            else INCLUDED
        o = option(st, kinds.get(st.account.provider) if kinds is not None else "subscription", policy)
        room, binding, *_ = planner.measure(o)
        tight = next((r for r in o.rooms if r.name == binding), None)
        resets = datetime.fromtimestamp(tight.resets_t, UTC) if tight and tight.resets_t is not None else None
        exhausts = any(w.exhausts_at is not None for w in st.windows if w.name == binding)
        out.append(Candidate(st.account.id, st.account.provider, st.account.pool, st.status, st.outcome, room,
                             binding, resets, exhausts, capacity, o.rooms))
    return out


def members(c: Candidate, name: str, pools: Sequence[PoolSpec]) -> bool:
    return planner.is_member(c.account_id, c.provider, c.pool, name, pools)


def skip_reason(c: Candidate) -> str | None:
    if c.outcome in SKIP_OUTCOMES:
        return c.outcome.value
    if c.health is Health.RED:
        return "RED"
    if c.headroom is not None and c.headroom <= 0:
        return f"{c.binding_window} at its hard cap"
    return None


def _as_option(c: Candidate) -> planner.Option:
    rooms_ = c.rooms
    if not rooms_ and c.headroom is not None and c.binding_window is not None:
        rooms_ = (Room(c.binding_window, 1.0 - c.headroom, 1.0,
                       c.resets_at.timestamp() if c.resets_at else None, c.exhausts_before_reset),)
    return planner.option(c.account_id, c.provider, c.capacity, c.health.value, c.outcome.value, rooms_, c.pool)


def rank(cands: Sequence[Candidate], pools: Sequence[PoolSpec], pool: str, *, strategy: str = "headroom",
         settings: planner.PlannerSettings | None = None, task: str | None = None, now: float = 0.0) -> Rotation:
    """Eligible accounts of ``pool`` and its fallback tiers, best first (:func:`quotawarden.analysis.planner.plan`).

    Order: pool tier, then capacity tier (included, paid, local for the default task), then the ``strategy``'s key
    (``headroom``: known headroom before unknown, more headroom, the sooner reset; ``drain_soonest``: see the
    planner). LIMITED, INVALID and RED accounts, and ones at a hard cap, are listed in ``skipped`` with the reason.
    """
    opts = {c.account_id: (c, _as_option(c)) for c in cands}
    p = planner.plan([o for _, o in opts.values()], settings, task=task, pool=pool, pools=pools, strategy=strategy,
                     now=now)
    ranked = []
    for ch in p.ranked:
        c, o = opts[ch.account_id]
        room = "unknown headroom" if ch.headroom is None else f"{ch.headroom:.0%} headroom on {ch.binding}"
        resets = c.resets_at
        if c.rooms:
            tight = next((r for r in o.rooms if r.name == ch.binding), None)
            resets = datetime.fromtimestamp(tight.resets_t, UTC) if tight and tight.resets_t is not None else None
        ranked.append(Ranked(ch.account_id, ch.provider, ch.pool or pool, ch.chain, ch.headroom, ch.binding,
                             resets, f"{c.health.value}, {room}" + (", fallback" if ch.chain else "")))
    return Rotation(pool, ranked, p.skipped, p.chain)


def rotation_json(rot: Rotation) -> dict[str, Any]:
    return {
        "pool": rot.pool, "chain": rot.chain,
        "ranked": [{"account": r.account_id, "provider": r.provider, "pool": r.pool, "tier": r.tier,
                    "headroom": planner.rounded(r.headroom), "binding_window": r.binding_window,
                    "resets_at": r.resets_at.isoformat().replace("+00:00", "Z") if r.resets_at else None,
                    "reason": r.reason} for r in rot.ranked],
        "skipped": [{"account": a, "reason": why} for a, why in rot.skipped],
    }
