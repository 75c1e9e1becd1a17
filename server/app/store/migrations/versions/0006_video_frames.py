"""Video job checkpoints (app.video): the frames a running video job has finished.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visor_video_frames",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("frame", sa.BigInteger, nullable=False),
        sa.Column("pts", sa.BigInteger, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("visor_video_frames")
