"""Usage received over OTLP: a partial index on the time of ``source = 'otel'`` events.

Each roll-up rebuild looks for OTLP copies of calls a local log also holds (``LogDb.drop_otel_twins``); with this
index that costs nothing on a store that receives no OTLP, and a range scan over those events only on one that does.
"""

import sqlalchemy as sa
from alembic import op

revision = "otel_0001"
down_revision = "logs_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_usage_otel_ts", "usage_events", ["ts"], sqlite_where=sa.text("source = 'otel'"),
                    postgresql_where=sa.text("source = 'otel'"))


def downgrade() -> None:
    op.drop_index("ix_usage_otel_ts", table_name="usage_events")
