"""The job tables (SQLAlchemy Core). Alembic migrations (:mod:`app.store`) create them.

Times are epoch microseconds (``*_us``, BIGINT): exact, portable between SQLite and
PostgreSQL, and totally ordered for cursor paging. A job's input is its ``args`` (JSON) and
``mime_type`` on the row plus, when there is one, the image bytes in ``visor_job_images``:
list and claim scans never drag image bytes through the page cache, and a job without an
image costs one row. Images are deleted with their job.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from app.store.columns import id_ref, micros, row_id
from app.store.metadata import metadata

jobs = Table(
    "visor_jobs",
    metadata,
    row_id(),
    Column("plugin", String(200), nullable=False),
    Column("tool", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("args", Text, nullable=False),
    Column("mime_type", String(200), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("progress", Float, nullable=True),
    Column("progress_message", Text, nullable=True),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    id_ref("owner"),  # the worker (dispatcher) running it
    id_ref("key_id"),  # the API key that submitted it (app.auth)
    # Set while the input lives in files (app.jobs.store.input_files): its size in bytes.
    Column("input_bytes", BigInteger, nullable=True),
    # "<key id or 'local'>:<Idempotency-Key>" and the submit's fingerprint (app.jobs.idempotency).
    Column("idempotency_key", String(300), nullable=True),
    Column("request_hash", String(64), nullable=True),
    # The submitting span's W3C traceparent (app.tracing), NULL while tracing is off.
    Column("trace_context", String(55), nullable=True),
    micros("created_us"),
    micros("started_us", nullable=True),
    micros("finished_us", nullable=True),
    micros("updated_us"),
    Index("ix_visor_jobs_status_created", "status", "created_us"),
    Index("ix_visor_jobs_created", "created_us", "id"),
    Index("ix_visor_jobs_finished", "finished_us"),
    Index("ix_visor_jobs_key_created", "key_id", "created_us"),
    Index("ix_visor_jobs_input_bytes", "input_bytes"),
    Index("ux_visor_jobs_idempotency_key", "idempotency_key", unique=True),
)

job_images = Table(
    "visor_job_images",
    metadata,
    Column(
        "job_id",
        String(32),
        ForeignKey("visor_jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("image", LargeBinary, nullable=False),
)

workers = Table(
    "visor_job_workers",
    metadata,
    row_id(),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("process_started", Float, nullable=False),
    micros("started_us"),
    micros("heartbeat_us"),
)
