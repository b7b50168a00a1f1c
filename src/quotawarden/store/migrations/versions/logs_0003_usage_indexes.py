"""Agent logs: fewer indexes on ``usage_events``.

Reports read the roll-ups, and every other query on raw events is bounded in time (``ix_usage_ts``), so the
indexes by project and by consumer only cost: each made every insert slower and a first import of a large
history rebuild them (about a second per index per 300,000 events). The index by account stays for the events
that have one (proxy and organisation usage; agent logs have none).
"""

import sqlalchemy as sa
from alembic import op

revision = "logs_0003"
down_revision = "logs_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_usage_project_ts", table_name="usage_events")
    op.drop_index("ix_usage_consumer_ts", table_name="usage_events")
    op.drop_index("ix_usage_account_ts", table_name="usage_events")
    op.create_index("ix_usage_account_ts", "usage_events", ["account_id", "ts"],
                    sqlite_where=sa.text("account_id IS NOT NULL"), postgresql_where=sa.text("account_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_usage_account_ts", table_name="usage_events")
    op.create_index("ix_usage_account_ts", "usage_events", ["account_id", "ts"])
    op.create_index("ix_usage_consumer_ts", "usage_events", ["consumer", "ts"])
    op.create_index("ix_usage_project_ts", "usage_events", ["project", "ts"])
