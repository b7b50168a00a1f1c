"""Agent logs: per-(host, file) read positions and the hourly usage roll-up (see ``store/schema_logs.py``)."""

import sqlalchemy as sa
from alembic import op

revision = "logs_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_SUMS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens", "cache_read_tokens",
         "reasoning_tokens")


def upgrade() -> None:
    op.create_table(
        "log_files",
        sa.Column("host", sa.String(200), primary_key=True),
        sa.Column("path", sa.String(1000), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("device", sa.BigInteger),
        sa.Column("inode", sa.BigInteger),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("lines", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(80)),
        sa.Column("mtime", sa.Float),
        sa.Column("state", sa.Text),
        sa.Column("updated_ts", sa.Float),
    )
    op.create_table(
        "usage_hourly",
        sa.Column("hour_ts", sa.Float, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("consumer", sa.String(200)),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("host", sa.String(200)),
        sa.Column("project", sa.String(500)),
        sa.Column("session", sa.String(200)),
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
    op.create_index("ix_usage_hourly_hour", "usage_hourly", ["hour_ts"])
