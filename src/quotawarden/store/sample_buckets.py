"""Samples summed up per time bucket: the highest reading of each account's windows in each bucket, for sparklines.

One row per (account, window, bucket) with the bucket's largest stated ratio, largest ``used``, smallest
``remaining`` and largest ``limit``; the caller derives a ratio from them (``domain.derived_ratio``) where none was
stated. Grouping happens in SQL so a day of per-minute samples comes back as a few dozen rows per window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quotawarden.store import db
from quotawarden.store._sql import chunks
from quotawarden.store.engine import Store

_IN_CHUNK = 10_000  # ids per IN list (SQLite binds at most 32,766 values per statement)


@dataclass(frozen=True, slots=True)
class BucketPeak:
    account_id: str
    window: str
    bucket: int
    """Whole ``step_s`` intervals since ``since``: 0 is the oldest bucket."""
    used_ratio: float | None
    used: float | None
    remaining: float | None
    limit: float | None


def peaks(store: Store, since: datetime, step_s: int, account_ids: Sequence[str] | None = None) -> list[BucketPeak]:
    """Per account, window and ``step_s`` bucket from ``since`` on: the bucket's highest readings, oldest first."""
    if step_s <= 0:
        raise ValueError("step_s must be positive")
    offset = "(observed_ts - :since) / :step"
    bucket = f"CAST(FLOOR({offset}) AS INTEGER)" if store.dialect == "postgresql" else f"CAST({offset} AS INTEGER)"
    head = (f'SELECT account_id, "window", {bucket} AS bucket, MAX(used_ratio) AS used_ratio, MAX(used) AS used, '
            'MIN(remaining) AS remaining, MAX("limit") AS "limit" FROM samples WHERE observed_ts >= :since')
    tail = " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    base = {"since": since.timestamp(), "step": float(step_s)}
    with store.connect() as conn:
        if account_ids is None:
            rows = conn.rows(head + tail, base)
        else:
            parts = chunks(list(account_ids), _IN_CHUNK)
            rows = []
            for part in parts:
                params: dict[str, Any] = dict(base)
                rows += conn.rows(f"{head} AND account_id IN {db.in_list('ids', part, params)}{tail}", params)
            if len(parts) > 1:
                rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return [BucketPeak(str(r[0]), str(r[1]), int(r[2]), r[3], r[4], r[5], r[6]) for r in rows]
