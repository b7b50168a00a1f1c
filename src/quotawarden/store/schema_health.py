"""What health weighs besides the quota itself: calls answered and failed per account and hour (the 24-hour error
rate), and the last reading of each provider's status page."""

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

provider_status = Table(
    "provider_status",
    metadata,
    Column("provider", String(64), primary_key=True),
    # operational | degraded | partial_outage | major_outage | unknown (the page could not be read)
    Column("state", String(32), nullable=False),
    Column("description", String(300), nullable=False, default=""),
    Column("observed_ts", Float, nullable=False),
)
