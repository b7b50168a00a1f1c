"""Turn what passed through into records: rate-limit headers -> samples, usage -> usage events.

Runs after the bytes went out. Header parsing belongs to each provider's header reader; anything it cannot read
is counted and skipped, never raised into the request.

Samples are coalesced to the newest per account and window between two flushes, so the headers of an ordinary
answer are only kept (a reference, no copy) and read when the queue flushes: the newest answer per account,
status and set of header names. Profiled: reading every answer's headers cost ~10% of the proxy's CPU at load,
for samples that the coalescing then threw away. Two exceptions are read at once: accounts that share a pool
with others (the pool's ranking wants their headroom as of the last answer), and a 401/402/429 in pool mode
(failover).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from quotawarden.domain import QuotaSample, Source, UsageEvent
from quotawarden.sources.proxy.budgets import BudgetGuard
from quotawarden.sources.proxy.dialects import UsageReader
from quotawarden.sources.proxy.model import Pricer
from quotawarden.sources.proxy.pools import PoolState
from quotawarden.sources.proxy.queue import WriteQueue
from quotawarden.spec import Headers, ProviderSpec

log = logging.getLogger("quotawarden.proxy")


class Capture:
    def __init__(self, providers: Mapping[str, ProviderSpec], queue: WriteQueue, pools: PoolState,
                 budgets: BudgetGuard, pricer: Pricer | None, now: Callable[[], datetime], *,
                 ranked: frozenset[str] = frozenset()) -> None:
        self.providers = providers
        self.queue = queue
        self.pools = pools
        self.budgets = budgets
        self.pricer = pricer
        self.now = now
        self.header_errors = 0
        self.usage_events = 0
        self._seen: dict[tuple[str, str, int, tuple[bytes, ...]], list[Any]] = {}
        self._ranked = ranked
        queue.before_flush = self.drain

    def seen(self, provider: str, account_id: str, status: int, raw: Sequence[tuple[bytes, bytes]],
             now: datetime) -> None:
        """An answer went out: keep its raw headers until the next flush (newest per account and header set)."""
        if account_id in self._ranked:
            self.samples(provider, account_id, status, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw],
                         now)
            return
        spec = self.providers.get(provider)
        if spec is None or spec.headers is None:
            return
        key = (account_id, provider, status, tuple([k for k, _ in raw]))
        slot = self._seen.get(key)
        if slot is None:
            self._seen[key] = [raw, now, 1]
        else:
            slot[0], slot[1], slot[2] = raw, now, slot[2] + 1

    def drain(self) -> None:
        """Read the kept headers into samples (oldest first, so the newest wins per window)."""
        if not self._seen:
            return
        seen, self._seen = self._seen, {}
        for (account_id, provider, status, _), (raw, now, n) in sorted(seen.items(), key=lambda kv: kv[1][1]):
            self.samples(provider, account_id, status,
                         [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw], now, answers=n)

    def samples(self, provider: str, account_id: str, status: int,
                headers: Iterable[tuple[str, str]], now: datetime, *, answers: int = 1) -> list[QuotaSample]:
        """Read headers now. ``answers``: how many answers these headers stand for (counted if unreadable)."""
        spec = self.providers.get(provider)
        if spec is None or spec.headers is None:
            return []
        hdrs = Headers(list(headers))
        try:
            found = spec.headers.read(account_id, status, hdrs, now)
            out = [s if s.source is Source.PROXY else replace(s, source=Source.PROXY) for s in found]
        except Exception as exc:  # odd headers must never break traffic
            self.header_errors += answers
            log.debug("%s headers unreadable: %s", provider, type(exc).__name__)
            return []
        if hdrs.unreadable:  # a value the reader logged and read as absent
            self.header_errors += answers
        self.pools.observe(account_id, out)
        self.queue.put_samples(out)
        return out

    def refusal_samples(self, provider: str, account_id: str, status: int, body: bytes,
                        now: datetime) -> list[QuotaSample]:
        """The windows a refusal's body says are exhausted, recorded like header samples: a Gemini-dialect 429's
        ``QuotaFailure`` violations (``rpm``/``tpm`` per minute, ``rpd``/``tpd`` per day, official evidence next
        to the counted windows). Other dialects say it in headers; an unreadable body gives nothing."""
        spec = self.providers.get(provider)
        if spec is None or spec.dialect != "gemini" or status != 429 or not body:
            return []
        from quotawarden.providers.gemini import read_error_body

        try:
            out, _ = read_error_body(account_id, status, body, now)
        except Exception as exc:  # an odd body must never break traffic
            log.debug("%s 429 body unreadable: %s", provider, type(exc).__name__)
            return []
        self.pools.observe(account_id, out)
        self.queue.put_samples(out)
        return out

    def usage(self, reader: UsageReader, *, provider: str, account_id: str | None, consumer: str | None,
              project: str | None, pool: str | None, model_hint: str, now: datetime) -> UsageEvent | None:
        if not reader.seen:
            return None
        fields: dict[str, Any] = {
            "ts": now, "provider": provider, "model": reader.model or model_hint or "unknown", "source": Source.PROXY,
            "dedup_key": _dedup_key(), "account_id": account_id, "consumer": consumer, "project": project,
            "input_tokens": reader.input, "output_tokens": reader.output, "cache_write_tokens": reader.cache_write,
            "cache_write_1h_tokens": reader.cache_write_1h, "cache_read_tokens": reader.cache_read,
            "reasoning_tokens": reader.reasoning, "request_id": reader.request_id}
        event = UsageEvent(**fields)
        if self.pricer is not None:
            try:
                cost = self.pricer(event)
            except Exception:
                cost = None
            if cost is not None:
                event = UsageEvent(**fields, cost=cost)
        self.budgets.add(event, pool, now)
        self.queue.put_usage(event)
        self.usage_events += 1
        return event


_PROCESS = os.urandom(4).hex()
_SEQ = itertools.count()


def _dedup_key() -> str:
    """Unique (time, this process, a counter), and rising with time: new keys land at the end of the
    primary-key index instead of on random pages."""
    return f"proxy:{time.time_ns():x}-{_PROCESS}{next(_SEQ):x}"
