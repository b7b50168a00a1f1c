"""Consumers held back by the ``throttle_consumers`` action: the proxy lets each one a single call at a time."""

from __future__ import annotations

from sqlalchemy import Column, Float, String, Table

from quotawarden.store.schema import metadata

consumer_throttles = Table(
    "consumer_throttles",
    metadata,
    Column("consumer", String(200), primary_key=True),
    Column("until_ts", Float, nullable=False),
    Column("reason", String(500), nullable=False, default=""),
    Column("set_ts", Float, nullable=False),
)
