"""Samples: an index on (account, window, source, time) for the newest reading of each source.

Reconciling sources (one reading per window, ``status``) reads the newest sample of every (account, window, source)
in the last day. The identity index orders a window's samples by time first, so that read grouped a day of samples
per window; this index answers it with one seek per (window, source) (``health_inputs.latest_per_source``).
"""

from alembic import op

revision = "samples_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_samples_source_ts", "samples", ["account_id", "window", "source", "observed_ts"])


def downgrade() -> None:
    op.drop_index("ix_samples_source_ts", table_name="samples")
