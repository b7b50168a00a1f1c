"""What reconciling sources and finding provider anomalies read, and the anomalies they keep.

* :func:`latest_per_source` -- the newest sample of each (account, window, source) observed since a time.
* :func:`official_samples`, :func:`usage_points`, :func:`refusals` -- the detector's inputs over a time range.
* :func:`save` / :func:`list_anomalies` -- the ``provider_anomalies`` table; ``save`` is idempotent by ``key``.

Rows come back as plain tuples and dicts: the store does not know analysis types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from quotawarden.domain import Outcome, QuotaSample, Source
from quotawarden.store import db
from quotawarden.store import health_inputs as hi
from quotawarden.store._sql import chunks
from quotawarden.store.engine import Store
from quotawarden.store.rows import SAMPLE_COLS, from_row

_ANOMALY_COLS = ("key", "kind", "account_id", "window", "at_ts", "detected_ts", "message", "expected", "evidence")
_SAMPLES = ", ".join(f's."{c}"' for c in SAMPLE_COLS)
_QUOTED = ", ".join(f'"{c}"' for c in _ANOMALY_COLS)
_INSERT = (f"INSERT INTO provider_anomalies ({_QUOTED}) VALUES ({', '.join(':' + c for c in _ANOMALY_COLS)}) "
           'ON CONFLICT ("key") DO NOTHING')


def latest_per_source(store: Store, since: float, account_ids: Sequence[str] | None = None,
                      windows: Sequence[str] | None = None) -> list[QuotaSample]:
    """The newest sample of every (account, window, source) observed at or after ``since`` (epoch seconds),
    narrowed to ``account_ids`` and ``windows`` when given (``health_inputs.latest_per_source``)."""
    if (account_ids is not None and not account_ids) or (windows is not None and not windows):
        return []
    sql, params = hi.latest_per_source(_SAMPLES, since, [s.value for s in Source], account_ids, windows)
    with store.connect() as conn:
        return [from_row(r) for r in conn.execute(sql, params)]


def official_samples(store: Store, since: float, until: float | None = None,
                     account_ids: Sequence[str] | None = None) -> list[QuotaSample]:
    """Official samples observed in ``[since, until]``, oldest first."""
    params: dict[str, Any] = {"since": since, "until": until}
    where = "s.observed_ts >= :since AND s.provenance = 'official'"
    if until is not None:
        where += " AND s.observed_ts <= :until"
    if account_ids is not None:
        where += f" AND s.account_id IN {db.in_list('ids', account_ids, params)}"
    with store.connect() as conn:
        return [from_row(r) for r in conn.execute(f"SELECT {_SAMPLES} FROM samples s WHERE {where} "
                                                  "ORDER BY s.observed_ts", params)]


def usage_points(store: Store, since: float, until: float | None = None) -> list[tuple[str, float, int]]:
    """(account id, epoch seconds, tokens) of every usage event on a known account in the range."""
    where = "account_id IS NOT NULL AND ts >= :since" + (" AND ts <= :until" if until is not None else "")
    sql = ("SELECT account_id, ts, input_tokens + output_tokens + cache_write_tokens + cache_read_tokens AS tokens "
           f"FROM usage_events WHERE {where}")
    with store.connect() as conn:
        return [(r[0], float(r[1]), int(r[2] or 0)) for r in conn.execute(sql, {"since": since, "until": until})]


def refusals(store: Store, since: float) -> list[tuple[str, float, str, dict[str, Any] | None]]:
    """(account id, epoch seconds, reason, stored details) of accounts whose latest outcome, at or after ``since``,
    is LIMITED (a probe's 429, or one the proxy passed on)."""
    sql = "SELECT account_id, observed_ts, reason, details FROM account_state WHERE outcome = ? AND observed_ts >= ?"
    with store.connect() as conn:
        rows = conn.rows(sql, (Outcome.LIMITED.value, since))
    out = []
    for r in rows:
        details = db.from_json(r[3])
        out.append((r[0], float(r[1]), r[2] or "", details if isinstance(details, dict) else None))
    return out


def save(store: Store, rows: Iterable[Mapping[str, Any]]) -> int:
    """Store anomalies (dicts with the table's columns but ``id``); one already stored (same ``key``) is kept as it
    was. Returns how many were new."""
    items = [{c: r.get(c) for c in _ANOMALY_COLS} for r in rows]
    if not items:
        return 0
    new = 0
    with store.begin() as conn:
        for part in chunks(items, 500):
            params: dict[str, Any] = {}
            keys = db.in_list("k", [r["key"] for r in part], params)
            have = {r[0] for r in conn.execute(f'SELECT "key" FROM provider_anomalies WHERE "key" IN {keys}', params)}
            fresh = [r for r in part if r["key"] not in have]
            if fresh:
                conn.executemany(_INSERT, [{**r, "evidence": db.to_json(r["evidence"])} for r in fresh])
                new += len({r["key"] for r in fresh})
    return new


def list_anomalies(store: Store, account_id: str | None = None, since: float | None = None,
                   limit: int = 1000) -> list[dict[str, Any]]:
    """Stored anomalies, newest first, as dicts of the table's columns."""
    cond = []
    if account_id is not None:
        cond.append("account_id = :account_id")
    if since is not None:
        cond.append("at_ts >= :since")
    where = f" WHERE {' AND '.join(cond)}" if cond else ""
    sql = f"SELECT id, {_QUOTED} FROM provider_anomalies{where} ORDER BY at_ts DESC, id DESC LIMIT :limit"
    with store.connect() as conn:
        rows = conn.rows(sql, {"account_id": account_id, "since": since, "limit": limit})
    return [{**r._asdict(), "evidence": db.from_json(r.evidence)} for r in rows]
