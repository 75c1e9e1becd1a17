"""Server-side dashboard sessions (app.auth.sessions): sign-out and key revocation end them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visor_dashboard_sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_visor_dashboard_sessions_key_id", "visor_dashboard_sessions", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_visor_dashboard_sessions_key_id", "visor_dashboard_sessions")
    op.drop_table("visor_dashboard_sessions")
