"""Idempotency keys on job submits (issue 24 item 13).

``idempotency_key`` is ``<principal>:<Idempotency-Key header>``, unique, so a retried
submit finds the job the first attempt made; ``request_hash`` tells a true retry (same
body) from a reused key (another body). Both go with their job when retention deletes it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable): no table copy on SQLite, however many jobs there are.
    op.add_column("visor_jobs", sa.Column("idempotency_key", sa.String(300), nullable=True))
    op.add_column("visor_jobs", sa.Column("request_hash", sa.String(64), nullable=True))
    op.create_index("ux_visor_jobs_idempotency_key", "visor_jobs", ["idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_visor_jobs_idempotency_key", table_name="visor_jobs")
    with op.batch_alter_table("visor_jobs") as batch:
        batch.drop_column("request_hash")
        batch.drop_column("idempotency_key")
