"""Usage and cost totals grouped in SQL (the API and ``/metrics`` read these, never raw events)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from quotawarden.store import db
from quotawarden.store.engine import Store

GROUPS = ("day", "model", "provider", "project", "consumer", "account")
_KEYS = {"day": "CAST(FLOOR(ts / 86400) AS FLOAT) * 86400", "model": "model", "provider": "provider",
         "project": "project", "consumer": "consumer", "account": "account_id"}
"""What each of :data:`GROUPS` groups by."""


def totals(store: Store, by: str, since: float | None = None, until: float | None = None,
           limit: int = 1000) -> list[dict[str, Any]]:
    key = _KEYS.get(by)
    if key is None:
        raise ValueError(f"cannot group usage by {by!r}: one of {', '.join(GROUPS)}")
    cond: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if since is not None:
        cond.append("ts >= :since")
        params["since"] = since
    if until is not None:
        cond.append("ts <= :until")
        params["until"] = until
    where = f" WHERE {' AND '.join(cond)}" if cond else ""
    sql = (f'SELECT {key} AS "key", COUNT(*) AS requests, SUM(input_tokens) AS input_tokens, '
           "SUM(output_tokens) AS output_tokens, SUM(cache_read_tokens) AS cache_read_tokens, "
           f"SUM(cache_write_tokens) AS cache_write_tokens, SUM(cost) AS cost FROM usage_events{where} "
           f"GROUP BY {key} ORDER BY {key} LIMIT :limit")
    with store.connect() as conn:
        rows = conn.rows(sql, params)
    return [{"key": r.key, "requests": int(r.requests), "input_tokens": int(r.input_tokens or 0),
             "output_tokens": int(r.output_tokens or 0), "cache_read_tokens": int(r.cache_read_tokens or 0),
             "cache_write_tokens": int(r.cache_write_tokens or 0),
             "cost_usd": _usd(db.money(r.cost))} for r in rows]


def _usd(cost: Decimal | None) -> float | None:
    return None if cost is None else float(cost)


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
    sql = ("SELECT provider, model, project, SUM(input_tokens) AS input, SUM(output_tokens) AS output, "
           "SUM(cache_read_tokens) AS cache_read, SUM(cache_write_tokens) AS cache_write, SUM(cost) AS cost "
           "FROM usage_events GROUP BY provider, model, project")
    with store.connect() as conn:
        rows = conn.rows(sql)
    return [MetricTotal(r[0], r[1], r[2], int(r[3] or 0), int(r[4] or 0), int(r[5] or 0), int(r[6] or 0),
                        db.money(r[7])) for r in rows]
