"""The job state machine: ``PENDING → RUNNING → SUCCESS | FAILED | CANCELLED``.

One extra edge exists for crash recovery and graceful shutdown: ``RUNNING → PENDING``
(a retry after the attempt was interrupted, while attempts remain). Terminal states never
change. The store enforces the same table in SQL (compare-and-set on the current status),
so a race between, say, a cancel and a finishing tool has exactly one winner.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    def sources(self) -> frozenset[JobStatus]:
        """The statuses a job may be in to move to this one."""
        return frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if self in targets)

    def check_transition(self, target: JobStatus) -> None:
        """Raise :class:`IllegalJobTransition` unless ``self → target`` is allowed."""
        if target not in ALLOWED_TRANSITIONS[self]:
            raise IllegalJobTransition(self, target)


ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PENDING}
    ),
    JobStatus.SUCCESS: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

TERMINAL_STATUSES = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED})


class IllegalJobTransition(RuntimeError):
    """A status change the job state machine does not allow."""

    def __init__(self, current: JobStatus, target: JobStatus) -> None:
        super().__init__(f"illegal job transition {current} -> {target}")
        self.current = current
        self.target = target
