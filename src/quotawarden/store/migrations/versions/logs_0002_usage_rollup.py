"""Agent logs: ``usage_rollup``, the hourly roll-up without sessions (see ``store/schema_logs.py``)."""

import sqlalchemy as sa
from alembic import op

revision = "logs_0002"
down_revision = "logs_0001"
branch_labels = None
depends_on = None

_SUMS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens", "cache_read_tokens",
         "reasoning_tokens")
_COSTS = ("cost_calc", "unknown_calc", "cost_recorded", "cost_auto", "unknown_auto")
_KEYS = ("source", "consumer", "provider", "host", "project", "model")


def upgrade() -> None:
    op.create_table(
        "usage_rollup",
        sa.Column("hour_ts", sa.Float, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("consumer", sa.String(200)),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("host", sa.String(200)),
        sa.Column("project", sa.String(500)),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        *(sa.Column(c, sa.BigInteger, nullable=False) for c in _SUMS),
        sa.Column("cost_calc", sa.Numeric(18, 8), nullable=False),
        sa.Column("unknown_calc", sa.Integer, nullable=False),
        sa.Column("cost_recorded", sa.Numeric(18, 8), nullable=False),
        sa.Column("cost_auto", sa.Numeric(18, 8), nullable=False),
        sa.Column("unknown_auto", sa.Integer, nullable=False),
        sa.Column("first_ts", sa.Float, nullable=False),
        sa.Column("last_ts", sa.Float, nullable=False),
    )
    op.create_index("ix_usage_rollup_hour", "usage_rollup", ["hour_ts"])
    keys = ", ".join(_KEYS)
    sums = ", ".join(f"sum({c})" for c in (*_SUMS, *_COSTS))
    op.execute(f"INSERT INTO usage_rollup (hour_ts, {keys}, events, {', '.join((*_SUMS, *_COSTS))}, first_ts, "
               f"last_ts) SELECT hour_ts, {keys}, sum(events), {sums}, min(first_ts), max(last_ts) "
               f"FROM usage_hourly GROUP BY hour_ts, {keys}")
