"""Uploaded files (``POST /v1/files``): metadata rows; the bytes live under the data dir.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visor_files",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("mime_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_visor_files_owner_created", "visor_files", ["owner", "created_us"])
    op.create_index("ix_visor_files_expires", "visor_files", ["expires_us"])


def downgrade() -> None:
    op.drop_index("ix_visor_files_expires", "visor_files")
    op.drop_index("ix_visor_files_owner_created", "visor_files")
    op.drop_table("visor_files")
