"""Agent-log tables: per-file read positions and hourly usage roll-ups.

``log_files`` remembers, per (host, path), where the tailer stopped: device, inode, size, byte offset, line
number, a hash of the file's first block (to notice a file replaced in place) and the reader's own resume state.
It is keyed by host as well as path because several machines may ingest into one PostgreSQL store and the same
home-relative path exists on each (the older ``ingest_files`` table is keyed by path alone and stays unused).

``usage_hourly`` is the roll-up reports read instead of raw events. One row per UTC hour and
(source, consumer, provider, host, project, session, model) over ``usage_events`` rows with ``source`` ``log`` or
``otel`` (agent logs, and agents' own telemetry received over OTLP):

======================  ==========================================================================
column                  meaning
======================  ==========================================================================
hour_ts                 start of the UTC hour (epoch seconds)
events                  number of usage events
input_tokens ...        sums of the token columns of ``usage_events``
cost_calc               sum of the calculated cost (events with no known price add nothing ...)
unknown_calc            ... and are counted here instead
cost_recorded           sum of the cost the agent itself wrote (``costUSD``, OpenCode ``cost``)
cost_auto, unknown_auto the recorded cost when present, else the calculated one (``--cost-mode auto``)
first_ts, last_ts       first and last event time inside the hour (for 5-hour blocks and burn rates)
======================  ==========================================================================

``usage_rollup`` has the same columns without ``session``: one row per UTC hour and (source, consumer, provider,
host, project, model), summed from ``usage_hourly``. Daily, weekly, monthly and block reports read it (a fraction
of the rows when many sessions run); ``usage session`` reads ``usage_hourly``.

The tailer rebuilds the hours it touched (and their neighbours) after every ingestion run, so the roll-up is
always exactly the GROUP BY of the raw rows; analysis code may read it for any per-hour question.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, Numeric, String, Table, Text

from quotawarden.store.schema import metadata

log_files = Table(
    "log_files",
    metadata,
    Column("host", String(200), primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("device", BigInteger),
    Column("inode", BigInteger),
    Column("size", BigInteger, nullable=False, default=0),
    Column("offset", BigInteger, nullable=False, default=0),
    Column("lines", BigInteger, nullable=False, default=0),
    Column("head_hash", String(80)),
    Column("mtime", Float),
    Column("state", Text),
    Column("updated_ts", Float),
)

ROLLUP_KEYS = ("source", "consumer", "provider", "host", "project", "session", "model")
ROLLUP_SUMS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens", "cache_read_tokens",
               "reasoning_tokens")

usage_hourly = Table(
    "usage_hourly",
    metadata,
    Column("hour_ts", Float, nullable=False),
    Column("source", String(16), nullable=False),
    Column("consumer", String(200)),
    Column("provider", String(64), nullable=False),
    Column("host", String(200)),
    Column("project", String(500)),
    Column("session", String(200)),
    Column("model", String(200), nullable=False),
    Column("events", Integer, nullable=False),
    *(Column(c, BigInteger, nullable=False) for c in ROLLUP_SUMS),
    Column("cost_calc", Numeric(18, 8), nullable=False),
    Column("unknown_calc", Integer, nullable=False),
    Column("cost_recorded", Numeric(18, 8), nullable=False),
    Column("cost_auto", Numeric(18, 8), nullable=False),
    Column("unknown_auto", Integer, nullable=False),
    Column("first_ts", Float, nullable=False),
    Column("last_ts", Float, nullable=False),
    Index("ix_usage_hourly_hour", "hour_ts"),
)

usage_rollup = Table(
    "usage_rollup",
    metadata,
    Column("hour_ts", Float, nullable=False),
    Column("source", String(16), nullable=False),
    Column("consumer", String(200)),
    Column("provider", String(64), nullable=False),
    Column("host", String(200)),
    Column("project", String(500)),
    Column("model", String(200), nullable=False),
    Column("events", Integer, nullable=False),
    *(Column(c, BigInteger, nullable=False) for c in ROLLUP_SUMS),
    Column("cost_calc", Numeric(18, 8), nullable=False),
    Column("unknown_calc", Integer, nullable=False),
    Column("cost_recorded", Numeric(18, 8), nullable=False),
    Column("cost_auto", Numeric(18, 8), nullable=False),
    Column("unknown_auto", Integer, nullable=False),
    Column("first_ts", Float, nullable=False),
    Column("last_ts", Float, nullable=False),
    Index("ix_usage_rollup_hour", "hour_ts"),
)
