"""Which jobs are live and which worker holds one, as SQL other rows can be checked against.

A feature that keeps rows per job (video checkpoints) writes them only while its worker
still runs the job, and sweeps them once the job is neither waiting nor running. It asks
these queries, inside its own transaction, instead of reading the job table itself: the
job package is the one that knows what "running on this worker" means.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from app.jobs.status import JobStatus
from app.jobs.store.tables import jobs

_LIVE = [JobStatus.PENDING.value, JobStatus.RUNNING.value]


def held_by(job_id: str, owner: str) -> Select[tuple[str]]:
    """The job's id if ``owner`` still runs it (empty once cancelled or taken over)."""
    return select(jobs.c.id).where(
        jobs.c.id == job_id,
        jobs.c.status == JobStatus.RUNNING.value,
        jobs.c.owner == owner,
    )


def live_ids() -> Select[tuple[str]]:
    """The ids of the jobs still waiting or running."""
    return select(jobs.c.id).where(jobs.c.status.in_(_LIVE))
