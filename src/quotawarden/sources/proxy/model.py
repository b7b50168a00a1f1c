"""What the proxy is given (plain frozen data built by the service) and what it hands back (batches)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from quotawarden.domain import AccountState, QuotaSample, UsageEvent


@dataclass(frozen=True, slots=True)
class Upstream:
    """One account the proxy may send traffic for: where to, and with which key (pool mode)."""

    account_id: str
    provider: str
    base_url: str
    secret: str | None = field(default=None, repr=False)
    pool: str | None = None


@dataclass(frozen=True, slots=True)
class PoolDef:
    name: str
    accounts: tuple[str, ...]
    fallback: tuple[str, ...] = ()
    """Pools tried in order when every account of this one is limited."""
    model_map: Mapping[str, str] = field(default_factory=dict)
    """Model renames applied when a request falls back to another pool (``"claude-sonnet-4-5" = "gpt-5"``)."""
    api: str | None = None
    """The API family the members speak when it is not their provider's (``anthropic``, ``openai``, ``gemini``)."""
    strategy: str = "drain_soonest"
    """``drain_soonest`` or ``headroom`` (``analysis.planner.STRATEGIES``)."""
    switch_margin: float = 0.05
    """Hysteresis under ``headroom``: another account takes over only with this much more headroom."""
    switch_margin_s: float = 900.0
    """Hysteresis under ``drain_soonest``: another account takes over only if its window resets this much sooner."""
    pacing: bool = False
    """Hold an account back while its utilisation is ahead of the straight line from window start to reset."""
    allow_overage: bool = False
    """Keep using an account that answers from paid overage / extra usage (else it is paused until its reset)."""


@dataclass(frozen=True, slots=True)
class ClientToken:
    token: str = field(repr=False)
    consumer: str = ""
    project: str | None = None
    pools: tuple[str, ...] = ()
    """Pools and providers this token may use; empty means all."""


@dataclass(frozen=True, slots=True)
class Budget:
    name: str
    scope: str
    """``consumer``, ``project``, ``pool``, ``provider`` or ``total``."""
    match: str = "*"
    daily_usd: Decimal | None = None
    monthly_usd: Decimal | None = None
    hard: bool = False


@dataclass(frozen=True, slots=True)
class ObservedAccount:
    """A key seen in pass-through mode that no configured account owns."""

    account_id: str
    provider: str
    fingerprint: str
    base_url: str | None = None


@dataclass(slots=True)
class Batch:
    samples: list[QuotaSample] = field(default_factory=list)
    usage: list[UsageEvent] = field(default_factory=list)
    states: list[AccountState] = field(default_factory=list)
    observed: list[ObservedAccount] = field(default_factory=list)
    outcomes: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    """(account id, hour start in epoch seconds) -> [answered, failed] upstream calls."""

    def __len__(self) -> int:
        return len(self.samples) + len(self.usage) + len(self.states) + len(self.observed) + len(self.outcomes)


Sink = Callable[[Batch], None]
"""Writes one batch to the store; raises when it cannot (the batch is then spilled to disk). It may also have
``open()`` and ``close()``, called in the writer thread when the queue starts and stops."""
Ranker = Callable[[Sequence[str], Mapping[str, Sequence[QuotaSample]], datetime], list[str]]
"""Orders a pool's usable account ids, best first, from the latest samples the proxy has seen."""


@runtime_checkable
class PoolRanker(Protocol):
    """A :data:`Ranker` that also knows each pool's rules (strategy, hysteresis, pacing): the proxy calls
    :meth:`order` with the pool whenever the ranker has it."""

    def __call__(self, ids: Sequence[str], latest: Mapping[str, Sequence[QuotaSample]],
                 now: datetime) -> list[str]: ...

    def order(self, pool: PoolDef, ids: Sequence[str], latest: Mapping[str, Sequence[QuotaSample]], now: datetime,
              overage: Collection[str] = ()) -> list[str]:
        """``overage``: accounts answering from paid extra usage that the pool keeps (``allow_overage``)."""
        ...
Pricer = Callable[[UsageEvent], Decimal | None]
SpendLookup = Callable[[Budget, datetime], tuple[Decimal, Decimal]]
"""Spend already recorded (today, this month) for a budget, read once at start."""
FingerprintLookup = Callable[[str], str | None]
ActionHook = Callable[[str, str, str, dict[str, Any]], None]
"""``(action type, subject, summary, detail)``: an autonomous move the proxy made (or, in ``ask`` mode, proposes),
to be audited and announced away from the request path."""


@dataclass(frozen=True)
class ProxyConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    accounts: tuple[Upstream, ...] = ()
    pools: tuple[PoolDef, ...] = ()
    client_tokens: tuple[ClientToken, ...] = ()
    budgets: tuple[Budget, ...] = ()
    provider_bases: Mapping[str, str] = field(default_factory=dict)
    """Upstream base per provider slug for pass-through routes (defaults in :mod:`.routing`)."""
    extra_hosts: tuple[str, ...] = ()
    known_fingerprints: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Key fingerprint -> account id, for pass-through mode."""
    queue_size: int = 10_000
    flush_interval_s: float = 0.5
    spill_dir: Path | None = None
    journal_sync_s: float = 0.0
    """Group commit of the usage journal: ``fdatasync`` at most this long after a record was written (the
    power-loss window; a crash of the process alone loses nothing). 0: only segments kept for replay are synced."""
    upstream_timeout_s: float = 600.0
    connect_timeout_s: float = 10.0
    limited_default_s: float = 60.0
    rotation: str = "auto"
    """``[autonomy] rotate_keys``: ``auto`` ranks a pool, fails over and falls back on its own; ``ask`` and ``off``
    keep each pool on its first account and pass its 429s through (``ask`` also proposes the move, once per
    limit, through ``on_action``)."""
    """How long a 429 without any reset hint keeps an account out of rotation."""
    pause_overage: str = "auto"
    """``[autonomy] pause_overage``: ``auto`` pauses an account that answers from paid overage or extra usage in
    each pool that does not allow overage, until the exhausted window's reset; ``ask`` only proposes it (once per
    episode, through ``on_action``); ``off`` does neither."""
