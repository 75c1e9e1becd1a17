"""Large job inputs live in files: the row records their size (``input_bytes``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visor_jobs") as batch:
        batch.add_column(sa.Column("input_bytes", sa.BigInteger, nullable=True))
        batch.create_index("ix_visor_jobs_input_bytes", ["input_bytes"])


def downgrade() -> None:
    with op.batch_alter_table("visor_jobs") as batch:
        batch.drop_index("ix_visor_jobs_input_bytes")
        batch.drop_column("input_bytes")
