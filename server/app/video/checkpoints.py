"""Checkpoints of running video jobs: finished frames, appended in batches to the job store.

A video job writes the frames it has finished every few frames or seconds; a later attempt
of the same job (after ``kill -9``, a server stop, a lost lease) reads them back and seeks
past them instead of running the tool on them again. Rows are written only while this
worker still owns the job (a job taken over by another server is no longer ours to write),
deleted when the job's run ends, and swept for jobs that ended otherwise (cancelled,
failed by recovery, purged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, delete, insert, select

from app.jobs import leases
from app.store.engine import WRITE
from app.video.sampling import Sampled
from app.video.tables import video_frames


@dataclass(frozen=True)
class FrameRecord:
    """One finished frame: where it is in the video and its entry in the job's result."""

    sample: Sampled
    pts: int | None
    entry: dict[str, Any]


class NotOwner(Exception):
    """The job is no longer RUNNING on this worker (cancelled, or taken over)."""


class CheckpointStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load(self, job_id: str) -> list[FrameRecord]:
        stmt = (
            select(video_frames).where(video_frames.c.job_id == job_id).order_by(video_frames.c.idx)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        records = []
        for row in rows:
            entry = orjson.loads(row["body"])
            sample = Sampled(int(row["idx"]), int(row["frame"]), float(entry["t_s"]))
            records.append(FrameRecord(sample, row["pts"], entry))
        return records

    def append(self, job_id: str, worker_id: str, records: list[FrameRecord]) -> None:
        """Store finished frames, if ``worker_id`` still runs the job (else :class:`NotOwner`)."""
        if not records:
            return
        rows = [
            {
                "job_id": job_id,
                "idx": r.sample.index,
                "frame": r.sample.frame,
                "pts": r.pts,
                "body": orjson.dumps(r.entry).decode(),
            }
            for r in records
        ]
        owned = leases.held_by(job_id, worker_id)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            if conn.execute(owned).first() is None:
                raise NotOwner(job_id)
            conn.execute(insert(video_frames), rows)

    def sweep(self) -> int:
        """Delete the checkpoints of jobs that are no longer waiting or running."""
        stmt = delete(video_frames).where(video_frames.c.job_id.not_in(leases.live_ids()))
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            return int(conn.execute(stmt).rowcount or 0)
