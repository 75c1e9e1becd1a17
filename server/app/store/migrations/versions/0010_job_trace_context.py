"""The trace a job belongs to (issue 26, tracing).

``trace_context`` is the W3C ``traceparent`` of the span that submitted the job (NULL while
tracing is off), so whichever server claims the job continues the submitter's trace.

Revision ID: 0010
Revises: 0008 (another branch adds 0009; the two are chained when merged)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable): no table copy on SQLite, however many jobs there are.
    op.add_column("visor_jobs", sa.Column("trace_context", sa.String(55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visor_jobs") as batch:
        batch.drop_column("trace_context")
