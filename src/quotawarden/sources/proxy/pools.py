"""Which account of a pool serves the next request: most headroom first, round-robin among equals.

The proxy learns headroom from the rate-limit headers of its own traffic; an account that answered 429 (or 401)
is skipped until its reset. The ranking itself is a callable (the analysis layer's rotation ranking when the
service wires it in), so this module only keeps the state.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from quotawarden.domain import Outcome, QuotaSample, limited_until
from quotawarden.sources.proxy.model import Ranker, Upstream


def headroom(samples: Sequence[QuotaSample], now: datetime) -> float:
    """1 - the fullest window that has not reset yet; unknown windows count as empty."""
    worst = 0.0
    for s in samples:
        if s.resets_at is not None and s.resets_at <= now:
            continue
        ratio = s.effective_ratio
        if ratio is not None and ratio > worst:
            worst = ratio
    return 1.0 - worst


class DefaultRanker:
    """Most headroom first (in steps of 1%); equals take turns."""

    def __init__(self) -> None:
        self._turn = itertools.count()

    def __call__(self, ids: Sequence[str], latest: Mapping[str, Sequence[QuotaSample]], now: datetime) -> list[str]:
        if len(ids) < 2:
            return list(ids)
        scored = sorted(((-round(headroom(latest.get(i, ()), now), 2), n, i) for n, i in enumerate(ids)))
        best = scored[0][0]
        top = [i for score, _, i in scored if score == best]
        rest = [i for score, _, i in scored if score != best]
        k = next(self._turn) % len(top)
        return top[k:] + top[:k] + rest


@dataclass(frozen=True, slots=True)
class Block:
    until: datetime
    outcome: Outcome
    reason: str


class PoolState:
    def __init__(self, ranker: Ranker | None = None) -> None:
        self.rank: Ranker = ranker or DefaultRanker()
        self.latest: dict[str, dict[str, QuotaSample]] = {}
        self.blocked: dict[str, Block] = {}

    def observe(self, account_id: str, samples: Sequence[QuotaSample]) -> None:
        if samples:
            windows = self.latest.setdefault(account_id, {})
            for s in samples:
                windows[s.window] = s

    def block(self, account_id: str, until: datetime, outcome: Outcome, reason: str) -> None:
        self.blocked[account_id] = Block(until, outcome, reason)

    def usable(self, members: Sequence[Upstream], now: datetime) -> list[Upstream]:
        """Members not held back, best first; an unreachable one (a failed connect is not a limit) goes last."""
        if len(members) == 1:  # nothing to rank
            b = self.blocked.get(members[0].account_id)
            return [] if b is not None and b.until > now and b.outcome is not Outcome.UNREACHABLE else [members[0]]
        by_id = {m.account_id: m for m in members}
        ids = []
        last = []
        for m in members:
            b = self.blocked.get(m.account_id)
            if b is not None and b.until > now:
                if b.outcome is Outcome.UNREACHABLE:
                    last.append(m)
                continue
            ids.append(m.account_id)
        latest = {i: list(self.latest.get(i, {}).values()) for i in ids}
        try:
            order = self.rank(ids, latest, now)
        except Exception:  # a faulty ranking must not stop traffic
            order = ids
        return [by_id[i] for i in order if i in by_id] + last

    def next_free(self, members: Sequence[Upstream], now: datetime) -> datetime | None:
        untils = [b.until for m in members if (b := self.blocked.get(m.account_id)) is not None
                  and b.outcome is not Outcome.UNREACHABLE]
        return min(untils) if untils and len(untils) == len(members) else None

    @staticmethod
    def reset_hint(samples: Sequence[QuotaSample], retry_after: str | None, now: datetime,
                   default_s: float) -> datetime:
        """When a limited account is worth trying again: the rule every LIMITED outcome follows
        (``domain.limited_until``: Retry-After, never before an exhausted long window's reset), else ``default_s``."""
        try:
            retry_at = now + timedelta(seconds=max(float(retry_after), 1.0)) if retry_after else None
        except ValueError:
            retry_at = None
        return limited_until(now, retry_at, list(samples)) or now + timedelta(seconds=default_s)


