"""Tables the daemon adds: per-account poll slots, sealed instance credentials, hourly sample roll-ups."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from quotawarden.store.schema import consumers, metadata

# /v1/status finds an instance by the hash of its key.
Index("ix_consumers_api_key_hash", consumers.c.api_key_hash)

poll_slots = Table(
    "poll_slots",
    metadata,
    Column("account_id", String(200), primary_key=True),
    Column("interval_s", Float, nullable=False),
    # When the next poll is due (advances by one interval per poll, so polls do not drift).
    Column("slot_ts", Float, nullable=False),
    # slot_ts, or the expiry of a replica's claim while it polls (a dead replica's claim lapses).
    Column("due_ts", Float, nullable=False, index=True),
    Column("holder", String(200)),
    Column("polls", Integer, nullable=False, default=0),
    Column("last_ts", Float),
)

instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("consumer_id", String(64), primary_key=True),
    Column("provider", String(64), primary_key=True),
    Column("fingerprint", String(32), nullable=False, index=True),
    # AES-GCM sealed JSON of what the instance sent; never the plaintext.
    Column("sealed", Text, nullable=False),
)

sample_rollups = Table(
    "sample_rollups",
    metadata,
    Column("account_id", String(200), primary_key=True),
    Column("window", String(64), primary_key=True),
    Column("hour_ts", Float, primary_key=True),
    Column("unit", String(16), nullable=False),
    Column("n", Integer, nullable=False),
    Column("used_ratio_max", Float),
    Column("used_ratio_last", Float),
    Column("used_last", Float),
    Column("remaining_last", Float),
    Column("limit_last", Float),
    Column("resets_ts_last", Float),
)
