"""Usage events: idempotent writes keyed by the dedup key (the same event from two hosts is stored once)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from quotawarden.domain import Source, UsageEvent
from quotawarden.store import db
from quotawarden.store._sql import dt
from quotawarden.store.engine import Store

USAGE_COLS = ("dedup_key", "ts", "provider", "model", "source", "account_id", "consumer", "project", "session",
              "host", "input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
              "cache_read_tokens", "reasoning_tokens", "cost", "cost_recorded", "request_id")
"""The columns of ``usage_events``, in the order :func:`_row` gives them."""

_INSERT = (f"INSERT INTO usage_events ({', '.join(USAGE_COLS)}) VALUES ({', '.join(['?'] * len(USAGE_COLS))}) "
           "ON CONFLICT (dedup_key) DO NOTHING")
_SELECT = f"SELECT {', '.join(USAGE_COLS)} FROM usage_events"


def _row(e: UsageEvent) -> tuple[Any, ...]:
    return (e.dedup_key, e.ts.timestamp(), e.provider, e.model, e.source.value, e.account_id, e.consumer,
            e.project, e.session, e.host, e.input_tokens, e.output_tokens, e.cache_write_tokens,
            e.cache_write_1h_tokens, e.cache_read_tokens, e.reasoning_tokens, e.cost, e.cost_recorded,
            e.request_id)


def from_row(r: Any) -> UsageEvent:
    return UsageEvent(
        ts=dt(r.ts), provider=r.provider, model=r.model, source=Source(r.source),  # type: ignore[arg-type]
        dedup_key=r.dedup_key, account_id=r.account_id, consumer=r.consumer, project=r.project,
        session=r.session, host=r.host, input_tokens=r.input_tokens, output_tokens=r.output_tokens,
        cache_write_tokens=r.cache_write_tokens, cache_write_1h_tokens=r.cache_write_1h_tokens,
        cache_read_tokens=r.cache_read_tokens, reasoning_tokens=r.reasoning_tokens,
        cost=db.money(r.cost), cost_recorded=db.money(r.cost_recorded), request_id=r.request_id,
    )


def write_usage(store: Store, events: Iterable[UsageEvent]) -> int:
    """Insert usage events; one whose dedup key is already stored is skipped. Returns rows offered."""
    rows = [_row(e) for e in events]
    if not rows:
        return 0
    with store.begin() as conn:
        conn.executemany(_INSERT, rows)
    return len(rows)


def events_between(store: Store, since: datetime | None = None, until: datetime | None = None,
                   **equals: str) -> list[UsageEvent]:
    cond: list[str] = []
    params: dict[str, Any] = {}
    for k, v in equals.items():
        if k not in USAGE_COLS:
            raise ValueError(f"usage_events has no column {k!r}")
        cond.append(f'"{k}" = :{k}')
        params[k] = v
    if since is not None:
        cond.append("ts >= :since_ts")
        params["since_ts"] = since.timestamp()
    if until is not None:
        cond.append("ts < :until_ts")
        params["until_ts"] = until.timestamp()
    where = f" WHERE {' AND '.join(cond)}" if cond else ""
    with store.connect() as conn:
        return [from_row(r) for r in conn.execute(f"{_SELECT}{where} ORDER BY ts", params)]


def session_totals(store: Store, session: str, lo: float, hi: float) -> dict[str, dict[str, float]]:
    """Per model, the token and recorded-cost sums of one session's events stamped in ``[lo, hi]`` (any source)."""
    sql = ("SELECT model, SUM(input_tokens) AS input, SUM(output_tokens) AS output, "
           "SUM(cache_read_tokens) AS cache_read, SUM(cache_write_tokens) AS cache_write, "
           "SUM(reasoning_tokens) AS reasoning, SUM(cost_recorded) AS cost, COUNT(*) AS events FROM usage_events "
           "WHERE ts >= :lo AND ts <= :hi AND session = :session GROUP BY model")
    out: dict[str, dict[str, float]] = {}
    with store.connect() as conn:
        for r in conn.execute(sql, {"lo": lo, "hi": hi, "session": session}):
            out[r[0]] = {"input": float(r[1] or 0), "output": float(r[2] or 0), "cache_read": float(r[3] or 0),
                         "cache_write": float(r[4] or 0), "reasoning": float(r[5] or 0), "cost": float(r[6] or 0),
                         "events": float(r[7])}
    return out
