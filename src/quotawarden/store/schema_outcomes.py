"""Answers and failures per account per hour: the 24-hour error rate that health weighs."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, String, Table

from quotawarden.store.schema import metadata

outcome_hours = Table(
    "outcome_hours",
    metadata,
    Column("account_id", String(200), primary_key=True),
    Column("hour_ts", Float, primary_key=True),
    # Calls the provider answered (any status below 500, 429 included: a limit is not a fault).
    Column("ok", Integer, nullable=False, default=0),
    # Calls that failed on the provider's side: 5xx, unreachable, timed out, or a probe that erred.
    Column("errors", Integer, nullable=False, default=0),
)
