"""API keys (app.auth) and the key that submitted each job.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visor_api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=True),
        sa.Column("revoked_us", sa.BigInteger, nullable=True),
        sa.Column("last_used_us", sa.BigInteger, nullable=True),
        sa.Column("rate_per_s", sa.Float, nullable=True),
        sa.Column("burst", sa.Integer, nullable=True),
        sa.Column("max_concurrent", sa.Integer, nullable=True),
    )
    op.create_index(
        "ux_visor_api_keys_active_name",
        "visor_api_keys",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_us IS NULL"),
        postgresql_where=sa.text("revoked_us IS NULL"),
    )
    with op.batch_alter_table("visor_jobs") as batch:
        batch.add_column(sa.Column("key_id", sa.String(32), nullable=True))
        batch.create_index("ix_visor_jobs_key_created", ["key_id", "created_us"])


def downgrade() -> None:
    with op.batch_alter_table("visor_jobs") as batch:
        batch.drop_index("ix_visor_jobs_key_created")
        batch.drop_column("key_id")
    op.drop_index("ux_visor_api_keys_active_name", "visor_api_keys")
    op.drop_table("visor_api_keys")
