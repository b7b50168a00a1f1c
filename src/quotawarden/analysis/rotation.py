"""Which account to use next: accounts in a pool ranked by headroom until reset, then the pool's fallback tiers.

Pure and cheap (no I/O, no clock): the proxy calls :func:`rank` on every routing decision with the statuses it
already holds; ``quotawarden analyze rotation`` prints the same answer. Typical use::

    statuses = service.status()                       # list[AccountStatus]
    pools = service.pool_specs()                      # list[PoolSpec] from [[pools]]
    rotation = rank(candidates(statuses, policy), pools, "claude-team")
    rotation.best  # -> Ranked | None: the account to send the next request to
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from quotawarden.analysis.health import Policy
from quotawarden.analysis.status import AccountStatus
from quotawarden.domain import Health, Outcome

SKIP_OUTCOMES = frozenset({Outcome.LIMITED, Outcome.INVALID})


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """One ``[[pools]]`` entry. Empty ``accounts`` means every account whose ``pool`` is ``name``."""

    name: str
    accounts: tuple[str, ...] = ()
    fallback: tuple[str, ...] = ()
    """Pools, or provider slugs, to try in order when this pool has no usable account."""


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


def candidates(statuses: Sequence[AccountStatus], policy: Policy | None = None) -> list[Candidate]:
    """One candidate per account; headroom is measured against each window's hard cap."""
    pol = policy or Policy()
    out = []
    for st in statuses:
        best: tuple[float, str, datetime | None, bool] | None = None
        for w in st.windows:
            ratio = w.sample.effective_ratio
            if ratio is None:
                continue
            cap = float(w.extra.get("hard_cap") or pol.cap(st.account.provider, w.name))
            room = cap - ratio
            if best is None or room < best[0]:
                best = (room, w.name, w.sample.resets_at, w.exhausts_at is not None)
        out.append(Candidate(st.account.id, st.account.provider, st.account.pool, st.status, st.outcome,
                             best[0] if best else None, best[1] if best else None, best[2] if best else None,
                             best[3] if best else False))
    return out


def fallback_chain(pools: Sequence[PoolSpec], start: str) -> list[str]:
    """``start`` then its fallbacks, depth first, each pool once (cycles in the config are cut)."""
    by_name = {p.name: p for p in pools}
    chain: list[str] = []

    def visit(name: str) -> None:
        if name in chain:
            return
        chain.append(name)
        for nxt in by_name[name].fallback if name in by_name else ():
            visit(nxt)

    visit(start)
    return chain


def members(c: Candidate, name: str, pools: Sequence[PoolSpec]) -> bool:
    spec = next((p for p in pools if p.name == name), None)
    if spec is not None:
        return c.account_id in spec.accounts if spec.accounts else c.pool == name
    return c.provider == name or c.pool == name  # a fallback may name a provider ("gemini", "ollama")


def skip_reason(c: Candidate) -> str | None:
    if c.outcome in SKIP_OUTCOMES:
        return c.outcome.value
    if c.health is Health.RED:
        return "RED"
    if c.headroom is not None and c.headroom <= 0:
        return f"{c.binding_window} at its hard cap"
    return None


def rank(cands: Sequence[Candidate], pools: Sequence[PoolSpec], pool: str) -> Rotation:
    """Eligible accounts of ``pool`` and its fallback tiers, best first.

    Order: tier, then known headroom before unknown, then more headroom, then the sooner reset (capacity that
    would otherwise be lost), then account id. LIMITED, INVALID and RED accounts, and ones at a hard cap, are
    listed in ``skipped`` with the reason.
    """
    chain = fallback_chain(pools, pool)
    ranked: list[Ranked] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for tier, name in enumerate(chain):
        for c in cands:
            if c.account_id in seen or not members(c, name, pools):
                continue
            seen.add(c.account_id)
            why = skip_reason(c)
            if why:
                skipped.append((c.account_id, why))
                continue
            room = "unknown headroom" if c.headroom is None else f"{c.headroom:.0%} headroom on {c.binding_window}"
            ranked.append(Ranked(c.account_id, c.provider, name, tier, c.headroom, c.binding_window, c.resets_at,
                                 f"{c.health.value}, {room}" + (", fallback" if tier else "")))
    far = datetime.max.replace(tzinfo=None)
    ranked.sort(key=lambda r: (r.tier, r.headroom is None, -(r.headroom or 0.0),
                               (r.resets_at.replace(tzinfo=None) if r.resets_at else far), r.account_id))
    return Rotation(pool, ranked, skipped, chain)


def rotation_json(rot: Rotation) -> dict[str, Any]:
    return {
        "pool": rot.pool, "chain": rot.chain,
        "ranked": [{"account": r.account_id, "provider": r.provider, "pool": r.pool, "tier": r.tier,
                    "headroom": r.headroom, "binding_window": r.binding_window,
                    "resets_at": r.resets_at.isoformat().replace("+00:00", "Z") if r.resets_at else None,
                    "reason": r.reason} for r in rot.ranked],
        "skipped": [{"account": a, "reason": why} for a, why in rot.skipped],
    }
