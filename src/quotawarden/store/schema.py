"""Tables, as SQLAlchemy Core metadata. Migrations in ``migrations/versions`` create exactly this.

Times are stored as UTC epoch seconds (``Float``): one representation on SQLite and PostgreSQL, cheap to
index and compare, no string parsing on the hot read path. Money is ``Numeric`` and comes back as ``Decimal``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrement wants INTEGER PRIMARY KEY

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("plan", String(64)),
    Column("pool", String(64)),
    Column("base_url", String(500)),
    Column("credential_ref", String(500)),
    Column("fingerprint", String(32), index=True),
    Column("tags", JSON, nullable=False, default=dict),
    # config | observed (the proxy saw its key in pass-through mode) | instance (registered via the API)
    Column("origin", String(16), nullable=False, default="config"),
    Column("created_ts", Float, nullable=False),
    Column("updated_ts", Float, nullable=False),
)

samples = Table(
    "samples",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("account_id", String(200), nullable=False),
    Column("window", String(64), nullable=False),
    Column("observed_ts", Float, nullable=False),
    Column("source", String(16), nullable=False),
    Column("provenance", String(16), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("used_ratio", Float),
    Column("used", Float),
    Column("remaining", Float),
    Column("limit", Float),
    Column("resets_ts", Float),
    Column("status", String(32)),
    Column("window_length_s", Integer),
    UniqueConstraint("account_id", "window", "observed_ts", "source", name="uq_samples_identity"),
    Index("ix_samples_source_ts", "account_id", "window", "source", "observed_ts"),
)

latest_samples = Table(
    "latest_samples",
    metadata,
    Column("account_id", String(200), primary_key=True),
    Column("window", String(64), primary_key=True),
    Column("observed_ts", Float, nullable=False),
    Column("source", String(16), nullable=False),
    Column("provenance", String(16), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("used_ratio", Float),
    Column("used", Float),
    Column("remaining", Float),
    Column("limit", Float),
    Column("resets_ts", Float),
    Column("status", String(32)),
    Column("window_length_s", Integer),
)

account_state = Table(
    "account_state",
    metadata,
    Column("account_id", String(200), primary_key=True),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("observed_ts", Float),
    Column("retry_ts", Float),
    Column("details", JSON),
)

usage_events = Table(
    "usage_events",
    metadata,
    Column("dedup_key", String(300), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("provider", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("source", String(16), nullable=False),
    Column("account_id", String(200)),
    Column("consumer", String(200)),
    Column("project", String(500)),
    Column("session", String(200)),
    Column("host", String(200)),
    Column("input_tokens", BigInteger, nullable=False, default=0),
    Column("output_tokens", BigInteger, nullable=False, default=0),
    Column("cache_write_tokens", BigInteger, nullable=False, default=0),
    Column("cache_write_1h_tokens", BigInteger, nullable=False, default=0),
    Column("cache_read_tokens", BigInteger, nullable=False, default=0),
    Column("reasoning_tokens", BigInteger, nullable=False, default=0),
    Column("cost", Numeric(18, 8)),
    Column("cost_recorded", Numeric(18, 8)),
    Column("request_id", String(200)),
    Index("ix_usage_ts", "ts"),
    # partial: agent-log events carry no account (migration logs_0003 says why the others went)
    Index("ix_usage_account_ts", "account_id", "ts", sqlite_where=text("account_id IS NOT NULL"),
          postgresql_where=text("account_id IS NOT NULL")),
    # partial: the few calls received over OTLP, looked up by time for their local-log twins (migration otel_0001)
    Index("ix_usage_otel_ts", "ts", sqlite_where=text("source = 'otel'"), postgresql_where=text("source = 'otel'")),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("account_id", String(200)),
    Column("window", String(64)),
    Column("message", Text, nullable=False),
    Column("action", Text, nullable=False, default=""),
    Column("opened_ts", Float, nullable=False),
    Column("updated_ts", Float, nullable=False),
    Column("resolved_ts", Float),
    Column("acked_by", String(200)),
    Column("notified_ts", Float),
    Column("notify_count", Integer, nullable=False, default=0),
    Column("pending_notice", String(16)),  # actions_0001: the notice waiting for delivery
    Column("last_notice", String(16)),
    Column("notified_severity", String(16)),
    Column("tags", JSON),
    Index("ix_alerts_key_state", "key", "state"),
    Index("ix_alerts_pending", "pending_notice"),
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("framework", String(32)),
    Column("project", String(500)),
    Column("state", String(16), nullable=False, default="active"),
    Column("last_heartbeat_ts", Float),
    Column("api_key_hash", String(128)),
    Column("poll_interval_s", Integer),
    Column("config", JSON),
    Column("created_ts", Float, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(300), nullable=False, default=""),
    Column("detail", JSON),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("job", String(100), nullable=False),
    Column("host", String(200)),
    Column("started_ts", Float, nullable=False),
    Column("finished_ts", Float),
    Column("outcome", String(16)),
    Column("detail", Text),
    Index("ix_job_runs_job_started", "job", "started_ts"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(300), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_ts", Float, nullable=False),
)

ingest_files = Table(
    "ingest_files",
    metadata,
    Column("path", String(1000), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("host", String(200)),
    Column("device", BigInteger),
    Column("inode", BigInteger),
    Column("size", BigInteger),
    Column("offset", BigInteger, nullable=False, default=0),
    Column("head_hash", String(64)),
    Column("updated_ts", Float),
)
