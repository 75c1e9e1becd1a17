"""The job store: jobs, their images, and the dispatchers (workers) that run them.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visor_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("plugin", sa.String(200), nullable=False),
        sa.Column("tool", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("mime_type", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("progress", sa.Float, nullable=True),
        sa.Column("progress_message", sa.Text, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("owner", sa.String(32), nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("started_us", sa.BigInteger, nullable=True),
        sa.Column("finished_us", sa.BigInteger, nullable=True),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_visor_jobs_status_created", "visor_jobs", ["status", "created_us"])
    op.create_index("ix_visor_jobs_created", "visor_jobs", ["created_us", "id"])
    op.create_index("ix_visor_jobs_finished", "visor_jobs", ["finished_us"])
    op.create_table(
        "visor_job_images",
        sa.Column(
            "job_id",
            sa.String(32),
            sa.ForeignKey("visor_jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("image", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "visor_job_workers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("process_started", sa.Float, nullable=False),
        sa.Column("started_us", sa.BigInteger, nullable=False),
        sa.Column("heartbeat_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("visor_job_workers")
    op.drop_table("visor_job_images")
    op.drop_index("ix_visor_jobs_finished", "visor_jobs")
    op.drop_index("ix_visor_jobs_created", "visor_jobs")
    op.drop_index("ix_visor_jobs_status_created", "visor_jobs")
    op.drop_table("visor_jobs")
