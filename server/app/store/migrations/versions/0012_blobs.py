"""Blobs in the database (issue 27): uploaded files, job inputs and videos as chunked rows,
so servers sharing the job store need no shared disk (``VISOR_BLOB_URL=database``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visor_blobs",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "visor_blob_chunks",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("visor_blob_chunks")
    op.drop_table("visor_blobs")
