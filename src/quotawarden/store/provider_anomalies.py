"""What reconciling sources and finding provider anomalies read, and the anomalies they keep.

* :func:`latest_per_source` -- the newest sample of each (account, window, source) observed since a time.
* :func:`official_samples`, :func:`usage_points`, :func:`refusals` -- the detector's inputs over a time range.
* :func:`save` / :func:`list_anomalies` -- the ``provider_anomalies`` table; ``save`` is idempotent by ``key``.

Rows come back as plain tuples and dicts: the store does not know analysis types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, func, select

from quotawarden.domain import Outcome, QuotaSample
from quotawarden.store import schema
from quotawarden.store._sql import chunks, insert
from quotawarden.store.engine import Store
from quotawarden.store.rows import from_row
from quotawarden.store.samples import _COLS
from quotawarden.store.schema_anomalies import provider_anomalies

_ANOMALY_COLS = ("key", "kind", "account_id", "window", "at_ts", "detected_ts", "message", "expected", "evidence")


def latest_per_source(store: Store, since: float, account_ids: Sequence[str] | None = None,
                      windows: Sequence[str] | None = None) -> list[QuotaSample]:
    """The newest sample of every (account, window, source) observed at or after ``since`` (epoch seconds).

    Given account ids and window names, the samples' (account, window, time) index serves the read.
    """
    t = schema.samples
    cond = [t.c.observed_ts >= since]
    if account_ids is not None:
        cond.append(t.c.account_id.in_(list(account_ids)))
    if windows is not None:
        cond.append(t.c.window.in_(list(windows)))
    newest = (select(t.c.account_id, t.c.window, t.c.source, func.max(t.c.observed_ts).label("m"))
              .where(and_(*cond)).group_by(t.c.account_id, t.c.window, t.c.source).subquery())
    q = (select(*[t.c[c] for c in _COLS])
         .join(newest, and_(t.c.account_id == newest.c.account_id, t.c.window == newest.c.window,
                            t.c.source == newest.c.source, t.c.observed_ts == newest.c.m))
         .order_by(t.c.account_id, t.c.window, t.c.source))
    with store.engine.connect() as conn:
        return [from_row(r) for r in conn.execute(q)]


def official_samples(store: Store, since: float, until: float | None = None,
                     account_ids: Sequence[str] | None = None) -> list[QuotaSample]:
    """Official samples observed in ``[since, until]``, oldest first."""
    t = schema.samples
    cond = [t.c.observed_ts >= since, t.c.provenance == "official"]
    if until is not None:
        cond.append(t.c.observed_ts <= until)
    if account_ids is not None:
        cond.append(t.c.account_id.in_(list(account_ids)))
    q = select(*[t.c[c] for c in _COLS]).where(and_(*cond)).order_by(t.c.observed_ts)
    with store.engine.connect() as conn:
        return [from_row(r) for r in conn.execute(q)]


def usage_points(store: Store, since: float, until: float | None = None) -> list[tuple[str, float, int]]:
    """(account id, epoch seconds, tokens) of every usage event on a known account in the range."""
    t = schema.usage_events
    tokens = t.c.input_tokens + t.c.output_tokens + t.c.cache_write_tokens + t.c.cache_read_tokens
    cond = [t.c.account_id.is_not(None), t.c.ts >= since]
    if until is not None:
        cond.append(t.c.ts <= until)
    with store.engine.connect() as conn:
        return [(r[0], float(r[1]), int(r[2] or 0))
                for r in conn.execute(select(t.c.account_id, t.c.ts, tokens).where(and_(*cond)))]


def refusals(store: Store, since: float) -> list[tuple[str, float, str, dict[str, Any] | None]]:
    """(account id, epoch seconds, reason, stored details) of accounts whose latest outcome, at or after ``since``,
    is LIMITED (a probe's 429, or one the proxy passed on)."""
    t = schema.account_state
    q = select(t.c.account_id, t.c.observed_ts, t.c.reason, t.c.details).where(
        and_(t.c.outcome == Outcome.LIMITED.value, t.c.observed_ts >= since))
    with store.engine.connect() as conn:
        return [(r[0], float(r[1]), r[2] or "", r[3] if isinstance(r[3], dict) else None) for r in conn.execute(q)]


def save(store: Store, rows: Iterable[Mapping[str, Any]]) -> int:
    """Store anomalies (dicts with the table's columns but ``id``); one already stored (same ``key``) is kept as it
    was. Returns how many were new."""
    items = [{c: r.get(c) for c in _ANOMALY_COLS} for r in rows]
    if not items:
        return 0
    t = provider_anomalies
    stmt = insert(store, t).on_conflict_do_nothing(index_elements=["key"])
    new = 0
    with store.engine.begin() as conn:
        for part in chunks(items, 500):
            have = set(conn.execute(select(t.c.key).where(t.c.key.in_([r["key"] for r in part]))).scalars())
            fresh = [r for r in part if r["key"] not in have]
            if fresh:
                conn.execute(stmt, fresh)
                new += len({r["key"] for r in fresh})
    return new


def list_anomalies(store: Store, account_id: str | None = None, since: float | None = None,
                   limit: int = 1000) -> list[dict[str, Any]]:
    """Stored anomalies, newest first, as dicts of the table's columns."""
    t = provider_anomalies
    cond = []
    if account_id is not None:
        cond.append(t.c.account_id == account_id)
    if since is not None:
        cond.append(t.c.at_ts >= since)
    q = select(t).order_by(t.c.at_ts.desc(), t.c.id.desc()).limit(limit)
    if cond:
        q = q.where(and_(*cond))
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
