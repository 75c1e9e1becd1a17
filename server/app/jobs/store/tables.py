"""Table definitions (SQLAlchemy Core). Alembic migrations create them; this is the model.

Times are epoch microseconds (``*_us``, BIGINT): exact, portable between SQLite and
PostgreSQL, and totally ordered for cursor paging. A job's input is its ``args`` (JSON) and
``mime_type`` on the row plus, when there is one, the image bytes in ``visor_job_images``:
list and claim scans never drag image bytes through the page cache, and a job without an
image costs one row. Images are deleted with their job.

``visor_files`` holds the metadata of uploaded files (``POST /v1/files``, :mod:`app.files`);
their bytes live under the data directory.
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
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

jobs = Table(
    "visor_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
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
    Column("owner", String(32), nullable=True),
    Column("key_id", String(32), nullable=True),  # the API key that submitted it (app.auth)
    # Set while the input lives in files (app.jobs.store.input_files): its size in bytes.
    Column("input_bytes", BigInteger, nullable=True),
    # "<key id or 'local'>:<Idempotency-Key>" and the submit's fingerprint (app.jobs.idempotency).
    Column("idempotency_key", String(300), nullable=True),
    Column("request_hash", String(64), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("started_us", BigInteger, nullable=True),
    Column("finished_us", BigInteger, nullable=True),
    Column("updated_us", BigInteger, nullable=False),
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
    Column("id", String(32), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("process_started", Float, nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("heartbeat_us", BigInteger, nullable=False),
)

files = Table(
    "visor_files",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=True),
    Column("filename", String(255), nullable=True),
    Column("mime_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Index("ix_visor_files_owner_created", "owner", "created_us"),
    Index("ix_visor_files_expires", "expires_us"),
)

pipelines = Table(
    "visor_pipelines",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("spec", Text, nullable=False),  # PipelineSpec JSON (app.pipelines.spec)
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# Video jobs (app.video): the frames a running video job has finished, its checkpoint. A
# resumed attempt reads them back and skips those frames; deleted when the job ends.
video_frames = Table(
    "visor_video_frames",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("idx", Integer, primary_key=True),  # the sample index
    Column("frame", BigInteger, nullable=False),  # decoded frame number
    Column("pts", BigInteger, nullable=True),  # presentation timestamp (stream time base)
    Column("body", Text, nullable=False),  # the frame's JSON entry in the job's result
)
