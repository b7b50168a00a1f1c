"""Usage and cost totals grouped in SQL (the API and ``/metrics`` read these, never raw events)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, cast, func, select

from quotawarden.store import schema
from quotawarden.store.engine import Store

GROUPS = ("day", "model", "provider", "project", "consumer", "account")


def totals(store: Store, by: str, since: float | None = None, until: float | None = None,
           limit: int = 1000) -> list[dict[str, Any]]:
    t = schema.usage_events
    if by == "day":
        key: Any = cast(func.floor(t.c.ts / 86400), Float) * 86400
    elif by == "account":
        key = t.c.account_id
    else:
        key = getattr(t.c, by)
    q = select(key.label("key"), func.count().label("requests"),
               func.sum(t.c.input_tokens).label("input_tokens"), func.sum(t.c.output_tokens).label("output_tokens"),
               func.sum(t.c.cache_read_tokens).label("cache_read_tokens"),
               func.sum(t.c.cache_write_tokens).label("cache_write_tokens"),
               func.sum(t.c.cost).label("cost")).group_by(key).order_by(key).limit(limit)
    if since is not None:
        q = q.where(t.c.ts >= since)
    if until is not None:
        q = q.where(t.c.ts <= until)
    with store.engine.connect() as conn:
        rows = conn.execute(q).fetchall()
    return [{"key": r.key, "requests": int(r.requests), "input_tokens": int(r.input_tokens or 0),
             "output_tokens": int(r.output_tokens or 0), "cache_read_tokens": int(r.cache_read_tokens or 0),
             "cache_write_tokens": int(r.cache_write_tokens or 0),
             "cost_usd": float(Decimal(r.cost)) if r.cost is not None else None} for r in rows]


@dataclass(frozen=True, slots=True)
class MetricTotal:
    """Tokens by kind and cost of one (provider, model, project), for the Prometheus counters."""

    provider: str
    model: str
    project: str | None
    input: int
    output: int
    cache_read: int
    cache_write: int
    cost: Decimal | None


def metric_totals(store: Store) -> list[MetricTotal]:
    """(provider, model, project, tokens by kind, cost) for the Prometheus counters."""
    t = schema.usage_events
    q = select(t.c.provider, t.c.model, t.c.project, func.sum(t.c.input_tokens).label("input"),
               func.sum(t.c.output_tokens).label("output"), func.sum(t.c.cache_read_tokens).label("cache_read"),
               func.sum(t.c.cache_write_tokens).label("cache_write"), func.sum(t.c.cost).label("cost"),
               ).group_by(t.c.provider, t.c.model, t.c.project)
    with store.engine.connect() as conn:
        rows = conn.execute(q).fetchall()
    return [MetricTotal(r.provider, r.model, r.project, int(r.input or 0), int(r.output or 0),
                        int(r.cache_read or 0), int(r.cache_write or 0),
                        None if r.cost is None else Decimal(r.cost)) for r in rows]
