"""Samples summed up per time bucket: the highest reading of each account's windows in each bucket, for sparklines.

One row per (account, window, bucket) with the bucket's largest stated ratio, largest ``used``, smallest
``remaining`` and largest ``limit``; the caller derives a ratio from them (``domain.derived_ratio``) where none was
stated. Grouping happens in SQL so a day of per-minute samples comes back as a few dozen rows per window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, Integer, and_, cast, func, select

from quotawarden.store import schema
from quotawarden.store.engine import Store


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
    t = schema.samples
    offset = (t.c.observed_ts - since.timestamp()) / cast(step_s, Float)
    bucket = cast(func.floor(offset), Integer) if store.dialect == "postgresql" else cast(offset, Integer)
    cond = [t.c.observed_ts >= since.timestamp()]
    if account_ids is not None:
        cond.append(t.c.account_id.in_(list(account_ids)))
    q = (select(t.c.account_id, t.c.window, bucket.label("bucket"), func.max(t.c.used_ratio), func.max(t.c.used),
                func.min(t.c.remaining), func.max(t.c.limit))
         .where(and_(*cond)).group_by(t.c.account_id, t.c.window, bucket)
         .order_by(t.c.account_id, t.c.window, bucket))
    with store.engine.connect() as conn:
        return [BucketPeak(str(r[0]), str(r[1]), int(r[2]), r[3], r[4], r[5], r[6]) for r in conn.execute(q)]
