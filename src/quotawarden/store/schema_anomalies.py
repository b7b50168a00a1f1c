"""Provider anomalies with their evidence: one row per anomaly, keyed so that finding it again stores nothing."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Index, String, Table, Text, UniqueConstraint

from quotawarden.store.schema import BigId, metadata

provider_anomalies = Table(
    "provider_anomalies",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("account_id", String(200), nullable=False),
    Column("window", String(64)),
    Column("at_ts", Float, nullable=False),
    Column("detected_ts", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("expected", Text, nullable=False, default=""),
    Column("evidence", JSON),
    UniqueConstraint("key", name="uq_provider_anomalies_key"),
    Index("ix_provider_anomalies_account_at", "account_id", "at_ts"),
    Index("ix_provider_anomalies_at", "at_ts"),
)
