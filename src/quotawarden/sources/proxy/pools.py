"""Which account of a pool serves the next request, and which accounts are held back.

The proxy learns headroom from the rate-limit headers of its own traffic; an account that answered 429 (or 401)
is skipped until its reset. The ranking itself is a callable (the analysis layer's planner, with each pool's
strategy, hysteresis and pacing, when the service wires it in: ``app.proxy.RotationRanker``); without one, most
headroom first, round-robin among equals. This module only keeps the state.

Overage pause (``[autonomy] pause_overage``): an account whose answer shows it is served from paid overage or
extra usage (``domain.overage_in_use``) is paused in every pool that does not set ``allow_overage``, until the
exhausted window's reset (else ``limited_default_s``); the pause is reported once per episode through the action
hook, to be audited. Under ``ask`` it is only proposed, under ``off`` neither.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from quotawarden.domain import Outcome, QuotaSample, classify_limit, limit_hold, limited_until, overage_in_use
from quotawarden.sources.proxy.model import ActionHook, PoolDef, PoolRanker, Ranker, Upstream

log = logging.getLogger("quotawarden.proxy")
OVERAGE_ACTION = "pause_overage"


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


@dataclass(frozen=True, slots=True)
class Overage:
    """An account answering from paid overage or extra usage, until its exhausted window resets."""

    until: datetime
    window: str
    since: datetime


class PoolState:
    def __init__(self, ranker: Ranker | None = None, pools: Sequence[PoolDef] = (), *,
                 pause_overage: str = "auto", report: ActionHook | None = None,
                 overage_default_s: float = 60.0) -> None:
        self.rank: Ranker = ranker or DefaultRanker()
        self.latest: dict[str, dict[str, QuotaSample]] = {}
        self.blocked: dict[str, Block] = {}
        self.pools: dict[str, PoolDef] = {p.name: p for p in pools}
        self.pause_overage = pause_overage
        self.overage: dict[str, Overage] = {}
        """Accounts seen answering from paid overage, until when (``domain.overage_in_use``)."""
        self._report = report
        self._reported: set[tuple[str, str, datetime]] = set()
        self._overage_default_s = overage_default_s
        self._pool_rank: PoolRanker | None = self.rank if isinstance(self.rank, PoolRanker) else None

    def observe(self, account_id: str, samples: Sequence[QuotaSample]) -> None:
        if samples:
            windows = self.latest.setdefault(account_id, {})
            for s in samples:
                windows[s.window] = s
            self._see_overage(account_id, samples)

    def _see_overage(self, account_id: str, samples: Sequence[QuotaSample]) -> None:
        if self.pause_overage == "off":
            return
        found = list(samples)
        spent = overage_in_use(found)
        if spent is None:
            return
        now = spent.observed_at
        until = spent.resets_at if spent.resets_at is not None and spent.resets_at > now \
            else now + timedelta(seconds=self._overage_default_s)
        old = self.overage.get(account_id)
        if old is None or old.until <= now or old.until != until:
            self.overage[account_id] = Overage(until, spent.window, now if old is None or old.until <= now
                                               else old.since)

    def paused(self, account_id: str, pool: PoolDef | None, now: datetime) -> bool:
        """Paused for paid overage in ``pool`` (never in a pool with ``allow_overage``); reports the pause (or, in
        ``ask`` mode, proposes it) once per account, pool and episode."""
        o = self.overage.get(account_id)
        if o is None or o.until <= now or pool is None or pool.allow_overage or self.pause_overage == "off":
            return False
        key = (account_id, pool.name, o.until)
        if key not in self._reported:
            self._reported.add(key)
            verb = "paused" if self.pause_overage == "auto" else "pause"
            self._tell(f"pool:{pool.name}",
                       f"{account_id} answers from paid overage ({o.window} window exhausted): {verb} in "
                       f"{pool.name} until {o.until.isoformat()}",
                       {"account": account_id, "pool": pool.name, "window": o.window,
                        "until": o.until.isoformat()})
        return self.pause_overage == "auto"

    def _tell(self, subject: str, summary: str, detail: dict[str, object]) -> None:
        if self._report is None:
            return
        try:
            self._report(OVERAGE_ACTION, subject, summary, detail)
        except Exception:  # reporting must never break traffic
            log.exception("could not report %s", OVERAGE_ACTION)

    def block(self, account_id: str, until: datetime, outcome: Outcome, reason: str) -> None:
        self.blocked[account_id] = Block(until, outcome, reason)

    def usable(self, members: Sequence[Upstream], now: datetime, pool: str | None = None) -> list[Upstream]:
        """Members not held back, best first; an unreachable one (a failed connect is not a limit) goes last.
        ``pool`` names the pool (its rules: strategy, hysteresis, pacing, overage pause)."""
        spec = self.pools.get(pool) if pool is not None else None
        if len(members) == 1:  # nothing to rank
            b = self.blocked.get(members[0].account_id)
            if b is not None and b.until > now and b.outcome is not Outcome.UNREACHABLE:
                return []
            return [] if self.overage and self.paused(members[0].account_id, spec, now) else [members[0]]
        by_id = {m.account_id: m for m in members}
        ids = []
        last = []
        for m in members:
            b = self.blocked.get(m.account_id)
            if b is not None and b.until > now:
                if b.outcome is Outcome.UNREACHABLE:
                    last.append(m)
                continue
            if self.overage and self.paused(m.account_id, spec, now):
                continue
            ids.append(m.account_id)
        latest = {i: list(self.latest.get(i, {}).values()) for i in ids}
        try:
            if spec is not None and self._pool_rank is not None:
                over = [i for i in ids if (o := self.overage.get(i)) is not None and o.until > now]
                order = self._pool_rank.order(spec, ids, latest, now, over)
            else:
                order = self.rank(ids, latest, now)
        except Exception:  # a faulty ranking must not stop traffic
            log.exception("pool ranking failed; using the configured order")
            order = ids
        return [by_id[i] for i in order if i in by_id] + last

    def next_free(self, members: Sequence[Upstream], now: datetime, pool: str | None = None) -> datetime | None:
        spec = self.pools.get(pool) if pool is not None else None
        untils = []
        for m in members:
            b = self.blocked.get(m.account_id)
            if b is not None and b.until > now and b.outcome is not Outcome.UNREACHABLE:
                untils.append(b.until)
            elif (o := self.overage.get(m.account_id)) is not None and self.paused(m.account_id, spec, now):
                untils.append(o.until)
        return min(untils) if untils and len(untils) == len(members) else None

    @staticmethod
    def reset_hint(samples: Sequence[QuotaSample], retry_after: str | None, now: datetime,
                   default_s: float) -> datetime:
        """When a 429-refused account is worth trying again (:meth:`hold` of a 429)."""
        return PoolState.hold(429, samples, retry_after, now, default_s).until

    @staticmethod
    def hold(status: int, samples: Sequence[QuotaSample], retry_after: str | None, now: datetime,
             default_s: float, error_type: str | None = None, message: str = "") -> Hold:
        """How long a refused account stays out of rotation, by the one rule (``domain.classify_limit``): an
        exhausted account-wide window benches it until ``domain.limited_until`` (Retry-After, never before that
        window's reset; else ``default_s``); a request-scoped limit (a minute bucket, one model's weekly cap) or an
        overload (529, 503) holds it only briefly (``domain.limit_hold``), so such a refusal never keeps an
        account out until its weekly reset. ``samples`` are the windows the answer's headers and body said are
        exhausted (a Gemini body's ``...PerMinute...`` or ``...PerDay...`` quota); ``error_type`` and ``message``
        the body's own error type and text."""
        try:
            retry_at = now + timedelta(seconds=max(float(retry_after), 1.0)) if retry_after else None
        except ValueError:
            retry_at = None
        found = list(samples)
        verdict = classify_limit(status, found, error_type=error_type, message=message)
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


