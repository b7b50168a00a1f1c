"""Usage events: idempotent writes keyed by the dedup key (the same event from two hosts is stored once)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select

from quotawarden.domain import Source, UsageEvent
from quotawarden.store import schema
from quotawarden.store._sql import chunks, dt, insert
from quotawarden.store.engine import Store

_BATCH = 5000


def _row(e: UsageEvent) -> dict[str, Any]:
    return {
        "dedup_key": e.dedup_key, "ts": e.ts.timestamp(), "provider": e.provider, "model": e.model,
        "source": e.source.value, "account_id": e.account_id, "consumer": e.consumer, "project": e.project,
        "session": e.session, "host": e.host, "input_tokens": e.input_tokens, "output_tokens": e.output_tokens,
        "cache_write_tokens": e.cache_write_tokens, "cache_write_1h_tokens": e.cache_write_1h_tokens,
        "cache_read_tokens": e.cache_read_tokens, "reasoning_tokens": e.reasoning_tokens, "cost": e.cost,
        "cost_recorded": e.cost_recorded, "request_id": e.request_id,
    }


def from_row(r: Any) -> UsageEvent:
    return UsageEvent(
        ts=dt(r.ts), provider=r.provider, model=r.model, source=Source(r.source),  # type: ignore[arg-type]
        dedup_key=r.dedup_key, account_id=r.account_id, consumer=r.consumer, project=r.project,
        session=r.session, host=r.host, input_tokens=r.input_tokens, output_tokens=r.output_tokens,
        cache_write_tokens=r.cache_write_tokens, cache_write_1h_tokens=r.cache_write_1h_tokens,
        cache_read_tokens=r.cache_read_tokens, reasoning_tokens=r.reasoning_tokens,
        cost=Decimal(r.cost) if r.cost is not None else None,
        cost_recorded=Decimal(r.cost_recorded) if r.cost_recorded is not None else None,
        request_id=r.request_id,
    )


def write_usage(store: Store, events: Iterable[UsageEvent]) -> int:
    """Insert usage events; one whose dedup key is already stored is skipped. Returns rows offered."""
    rows = [_row(e) for e in events]
    if not rows:
        return 0
    stmt = insert(store, schema.usage_events).on_conflict_do_nothing(index_elements=["dedup_key"])
    with store.engine.begin() as conn:
        for part in chunks(rows, _BATCH):
            conn.execute(stmt, part)
    return len(rows)


def events_between(store: Store, since: datetime | None = None, until: datetime | None = None,
                   **equals: str) -> list[UsageEvent]:
    t = schema.usage_events
    cond = [getattr(t.c, k) == v for k, v in equals.items()]
    if since is not None:
        cond.append(t.c.ts >= since.timestamp())
    if until is not None:
        cond.append(t.c.ts < until.timestamp())
    q = select(t).where(and_(*cond)).order_by(t.c.ts) if cond else select(t).order_by(t.c.ts)
    with store.engine.connect() as conn:
        return [from_row(r) for r in conn.execute(q)]


def session_totals(store: Store, session: str, lo: float, hi: float) -> dict[str, dict[str, float]]:
    """Per model, the token and recorded-cost sums of one session's events stamped in ``[lo, hi]`` (any source)."""
    from sqlalchemy import func

    t = schema.usage_events
    q = (select(t.c.model, func.sum(t.c.input_tokens), func.sum(t.c.output_tokens), func.sum(t.c.cache_read_tokens),
                func.sum(t.c.cache_write_tokens), func.sum(t.c.reasoning_tokens), func.sum(t.c.cost_recorded),
                func.count())
         .where(t.c.ts >= lo, t.c.ts <= hi, t.c.session == session).group_by(t.c.model))
    out: dict[str, dict[str, float]] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            out[r[0]] = {"input": float(r[1] or 0), "output": float(r[2] or 0), "cache_read": float(r[3] or 0),
                         "cache_write": float(r[4] or 0), "reasoning": float(r[5] or 0), "cost": float(r[6] or 0),
                         "events": float(r[7])}
    return out
