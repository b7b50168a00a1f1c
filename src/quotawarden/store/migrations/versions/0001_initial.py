"""Initial schema: accounts, samples and their latest values, usage events, alerts, consumers, audit, jobs."""

from alembic import op

from quotawarden.store.migrations import frozen_0001 as schema

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

# The tables as they stood at this revision. Later revisions alter them with op.* calls and never edit this list.
TABLES = [
    schema.accounts, schema.samples, schema.latest_samples, schema.account_state, schema.usage_events,
    schema.alerts, schema.consumers, schema.audit_events, schema.job_runs, schema.leases, schema.ingest_files,
]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind, checkfirst=False)
