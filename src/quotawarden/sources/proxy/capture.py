"""Turn what passed through into records: rate-limit headers -> samples, usage -> usage events.

Runs after the bytes went out. Header parsing belongs to each provider's header reader; anything it cannot read
is counted and skipped, never raised into the request.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime

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
                 budgets: BudgetGuard, pricer: Pricer | None, now: Callable[[], datetime]) -> None:
        self.providers = providers
        self.queue = queue
        self.pools = pools
        self.budgets = budgets
        self.pricer = pricer
        self.now = now
        self.header_errors = 0
        self.usage_events = 0

    def samples(self, provider: str, account_id: str, status: int,
                headers: Iterable[tuple[str, str]], now: datetime) -> list[QuotaSample]:
        spec = self.providers.get(provider)
        if spec is None or spec.headers is None:
            return []
        try:
            found = spec.headers.read(account_id, status, Headers(list(headers)), now)
            out = [s if s.source is Source.PROXY else replace(s, source=Source.PROXY) for s in found]
        except Exception as exc:  # odd headers must never break traffic
            self.header_errors += 1
            log.debug("%s headers unreadable: %s", provider, type(exc).__name__)
            return []
        self.pools.observe(account_id, out)
        self.queue.put_samples(out)
        return out

    def usage(self, reader: UsageReader, *, provider: str, account_id: str | None, consumer: str | None,
              project: str | None, pool: str | None, model_hint: str, now: datetime) -> UsageEvent | None:
        if not reader.seen:
            return None
        event = UsageEvent(
            ts=now, provider=provider, model=reader.model or model_hint or "unknown", source=Source.PROXY,
            dedup_key=f"proxy:{os.urandom(12).hex()}", account_id=account_id, consumer=consumer,
            project=project, input_tokens=reader.input, output_tokens=reader.output,
            cache_write_tokens=reader.cache_write, cache_write_1h_tokens=reader.cache_write_1h,
            cache_read_tokens=reader.cache_read, reasoning_tokens=reader.reasoning, request_id=reader.request_id)
        if self.pricer is not None:
            try:
                cost = self.pricer(event)
            except Exception:
                cost = None
            if cost is not None:
                event = replace(event, cost=cost)
        self.budgets.add(event, pool, now)
        self.queue.put_usage(event)
        self.usage_events += 1
        return event
