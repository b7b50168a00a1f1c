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

from quotawarden.domain import Outcome, QuotaSample, classify_limit, limit_hold, limited_until
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
        if len(members) == 1:  # nothing to rank
            b = self.blocked.get(members[0].account_id)
            return [] if b is not None and b.until > now else [members[0]]
        by_id = {m.account_id: m for m in members}
        ids = []
        for m in members:
            b = self.blocked.get(m.account_id)
            if b is not None and b.until > now:
                continue
            ids.append(m.account_id)
        latest = {i: list(self.latest.get(i, {}).values()) for i in ids}
        try:
            order = self.rank(ids, latest, now)
        except Exception:  # a faulty ranking must not stop traffic
            order = ids
        return [by_id[i] for i in order if i in by_id]

    def next_free(self, members: Sequence[Upstream], now: datetime) -> datetime | None:
        untils = [self.blocked[m.account_id].until for m in members if m.account_id in self.blocked]
        return min(untils) if untils and len(untils) == len(members) else None

    @staticmethod
    def reset_hint(samples: Sequence[QuotaSample], retry_after: str | None, now: datetime,
                   default_s: float) -> datetime:
        """When a 429-refused account is worth trying again (:meth:`hold` of a 429)."""
        return PoolState.hold(429, samples, retry_after, now, default_s).until

    @staticmethod
    def hold(status: int, samples: Sequence[QuotaSample], retry_after: str | None, now: datetime,
             default_s: float, error_type: str | None = None) -> Hold:
        """How long a refused account stays out of rotation, by the one rule (``domain.classify_limit``): an
        exhausted account-wide window benches it until ``domain.limited_until`` (Retry-After, never before that
        window's reset; else ``default_s``); a request-scoped limit (a minute bucket, one model's weekly cap) or an
        overload (529, 503) holds it only briefly (``domain.limit_hold``), so such a refusal never keeps an
        account out until its weekly reset."""
        try:
            retry_at = now + timedelta(seconds=max(float(retry_after), 1.0)) if retry_after else None
        except ValueError:
            retry_at = None
        found = list(samples)
        verdict = classify_limit(status, found, error_type=error_type)
        if verdict.benches:
            until = limited_until(now, retry_at, found) or now + timedelta(seconds=default_s)
        else:
            until = limit_hold(now, verdict, retry_at, found) or now + timedelta(seconds=default_s)
        return Hold(until, verdict.outcome, f"upstream answered {status}: {verdict.reason}")


@dataclass(frozen=True, slots=True)
class Hold:
    until: datetime
    outcome: Outcome
    """LIMITED (benched until a window's reset), THROTTLED (request-scoped) or OVERLOADED."""
    reason: str




