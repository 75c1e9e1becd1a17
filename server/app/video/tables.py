"""The ``visor_video_frames`` table: finished frames of running video jobs (checkpoints,
:class:`app.video.checkpoints.CheckpointStore`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table, Text

from app.store.columns import row_id
from app.store.metadata import metadata

# The frames a running video job has finished, its checkpoint. A
# resumed attempt reads them back and skips those frames; deleted when the job ends.
video_frames = Table(
    "visor_video_frames",
    metadata,
    row_id("job_id"),  # the job whose frames these are
    Column("idx", Integer, primary_key=True),  # the sample index
    Column("frame", BigInteger, nullable=False),  # decoded frame number
    Column("pts", BigInteger, nullable=True),  # presentation timestamp (stream time base)
    Column("body", Text, nullable=False),  # the frame's JSON entry in the job's result
)
