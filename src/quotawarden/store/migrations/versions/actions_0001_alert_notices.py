"""Alert notices: what was last announced for an alert, and the notice waiting to be delivered."""

import sqlalchemy as sa
from alembic import op

revision = "actions_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("pending_notice", sa.String(16)))
    op.add_column("alerts", sa.Column("last_notice", sa.String(16)))
    op.add_column("alerts", sa.Column("notified_severity", sa.String(16)))
    op.add_column("alerts", sa.Column("tags", sa.JSON))
    op.create_index("ix_alerts_pending", "alerts", ["pending_notice"])
