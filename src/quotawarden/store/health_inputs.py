"""What health weighs besides each window's latest sample, as plain SQL text: the recent samples burn rates rest on,
the 24-hour outcome counts of the error rate, the status pages' readings.

Standard library only: the full store runs these through :mod:`quotawarden.store.db` and the fast paths
(:mod:`quotawarden.store.quick`) through ``sqlite3``, so ``status`` and ``summary`` weigh the same rows. Parameters
are named (``:since``), which both accept. Every column selected has a name of its own (``AS ...``): psycopg's
named-tuple rows refuse two columns both called ``sum`` or ``avg``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

RATIO = ('COALESCE(s.used_ratio, CASE WHEN s."limit" > 0 THEN COALESCE(s.used, s."limit" - s.remaining) '
         '/ s."limit" END)')
"""A sample's used fraction, stated or derived (as ``QuotaSample.effective_ratio``)."""

ERROR_WINDOW_S = 86400.0
MIN_CALLS = 10
"""An error rate needs this many calls in the day (one failed probe out of three says little)."""
PAGE_FRESH_INTERVALS = 3
"""A status page reading counts for three ``schedule.status_interval``: a stale "outage" must not outlive the outage
by much."""

KNOWN_ACCOUNTS = ("SELECT a.id, a.provider, a.pool, a.origin, a.fingerprint, s.outcome, s.observed_ts, "
                  "(SELECT MAX(l.observed_ts) FROM latest_samples l WHERE l.account_id = a.id) "
                  "FROM accounts a LEFT JOIN account_state s ON s.account_id = a.id ORDER BY a.id")
"""Every stored account with what ``analysis.current`` weighs: id, provider, pool, origin, key fingerprint, last
outcome, when that outcome was observed, the newest reading's time."""

OUTCOME_COUNTS = ("SELECT account_id, SUM(ok) AS ok, SUM(errors) AS errors FROM outcome_hours "
                  "WHERE hour_ts >= :since GROUP BY account_id")
PAGES = "SELECT provider, state FROM provider_status WHERE observed_ts >= :since"
QUIET_PAGES = frozenset({"operational", "unknown"})
"""Status page states that say nothing against a provider: health does not weigh them."""


def lookback_for(window_length_s: int | None) -> tuple[float, float]:
    """(look-back, bucket) in seconds: a quarter of the window, between 2 h and 24 h, in 24 buckets."""
    span = 6 * 3600.0 if not window_length_s else min(24 * 3600.0, max(2 * 3600.0, window_length_s / 4))
    return span, span / 24


def latest_per_source(columns: str, since: float, sources: Sequence[str], account_ids: Sequence[str] | None = None,
                      windows: Sequence[str] | None = None) -> tuple[str, dict[str, Any]]:
    """(SQL, parameters) for the newest sample (``columns``, over ``s.``) of every (account, window, source)
    observed at or after ``since``, ordered by account, window, source. The pairs are ``latest_samples``'s (every
    sample written is there), narrowed to ``account_ids`` and ``windows`` when given (not empty); the sources are
    ``sources`` (``domain.Source``'s values: the caller's, this module imports nothing of the domain).

    Each (pair, source) is one seek on ``ix_samples_source_ts`` (account, window, source, time) for its newest time,
    then one on the samples' identity: a few hundred seeks where grouping a day of samples read tens of thousands of
    index entries."""
    params: dict[str, Any] = {"since": since}
    where = []
    if account_ids is not None:
        params.update({f"id{i}": v for i, v in enumerate(account_ids)})
        where.append(f"l.account_id IN ({', '.join(f':id{i}' for i in range(len(account_ids)))})")
    if windows is not None:
        params.update({f"w{i}": v for i, v in enumerate(windows)})
        where.append(f'l."window" IN ({", ".join(f":w{i}" for i in range(len(windows)))})')
    params.update({f"src{i}": v for i, v in enumerate(sources)})
    values = ", ".join(f"(:src{i})" for i in range(len(sources)))
    # CROSS JOIN keeps SQLite's loop order: latest_samples, then the sources, then one seek into samples each
    sql = (f"WITH src (source) AS (VALUES {values}) "
           f"SELECT {columns} FROM latest_samples l CROSS JOIN src CROSS JOIN samples s "
           f'WHERE {" AND ".join([*where, "s.account_id = l.account_id"])} AND s."window" = l."window" '
           f"AND s.source = src.source AND s.observed_ts = (SELECT MAX(x.observed_ts) FROM samples x "
           f'WHERE x.account_id = l.account_id AND x."window" = l."window" AND x.source = src.source '
           f"AND x.observed_ts >= :since) "
           f'ORDER BY s.account_id, s."window", s.source')
    return sql, params


def recent_buckets_sql(dialect: str, *, length_known: bool, by_account: bool = False) -> str:
    """The recent samples of every window of one length (``:len``, or none when not ``length_known``), averaged
    into ``:b``-second buckets over the look-back ``:lb`` before each window's latest sample. Columns: account id,
    window, then ``analysis.burn.Point``'s (t, ratio, used, remaining, limit, resets_t, weight). ``by_account``
    adds ``AND l.account_id IN :ids`` (the caller puts the list in its place, e.g. with ``db.in_list``)."""
    bucket = "FLOOR(s.observed_ts / :b)" if dialect == "postgresql" else "CAST(s.observed_ts / :b AS INTEGER)"
    where = "l.window_length_s = :len" if length_known else "l.window_length_s IS NULL"
    if by_account:
        where += " AND l.account_id IN :ids"
    # CROSS JOIN: SQLite then drives the loop from latest_samples (one index range per window); PostgreSQL plans it
    # as an ordinary join
    return (f'SELECT s.account_id, s."window", AVG(s.observed_ts) AS t, AVG({RATIO}) AS ratio, '
            f'AVG(s.used) AS used_avg, AVG(s.remaining) AS remaining_avg, MAX(s."limit") AS limit_max, '
            f'MAX(s.resets_ts) AS resets_t, COUNT(*) AS weight '
            f'FROM latest_samples l CROSS JOIN samples s WHERE s.account_id = l.account_id '
            f'AND s."window" = l."window" AND s.observed_ts >= l.observed_ts - :lb '
            f'AND {where} GROUP BY s.account_id, s."window", s.resets_ts, {bucket}')


def error_rates(counts: Iterable[tuple[Any, ...]], min_calls: int = MIN_CALLS) -> dict[str, float]:
    """(account id, answered, failed) rows -> failed / all calls, for accounts with at least ``min_calls``."""
    out = {}
    for account_id, ok, err in counts:
        total = int(ok or 0) + int(err or 0)
        if total >= min_calls:
            out[str(account_id)] = int(err or 0) / total
    return out


def hour_start(ts: float) -> float:
    """The start of the hour ``ts`` falls in: ``outcome_hours`` counts whole hours."""
    return float(int(ts) // 3600 * 3600)
