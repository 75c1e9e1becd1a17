"""The job state machine and the progress throttle (pure rules, no clock, no store)."""

from __future__ import annotations

import itertools

import pytest

from app.jobs.progress import ProgressThrottle
from app.jobs.status import ALLOWED_TRANSITIONS, IllegalJobTransition, JobStatus

LEGAL = {
    (JobStatus.PENDING, JobStatus.RUNNING),
    (JobStatus.PENDING, JobStatus.CANCELLED),
    (JobStatus.RUNNING, JobStatus.SUCCESS),
    (JobStatus.RUNNING, JobStatus.FAILED),
    (JobStatus.RUNNING, JobStatus.CANCELLED),
    (JobStatus.RUNNING, JobStatus.PENDING),  # retry after an interrupted attempt
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(JobStatus, JobStatus)))
def test_only_the_documented_transitions_are_legal(current: JobStatus, target: JobStatus) -> None:
    if (current, target) in LEGAL:
        current.check_transition(target)
    else:
        with pytest.raises(IllegalJobTransition):
            current.check_transition(target)


def test_terminal_statuses_are_final() -> None:
    terminal = {s for s in JobStatus if s.is_terminal}
    assert terminal == {JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED}
    assert all(not ALLOWED_TRANSITIONS[s] for s in terminal)
    assert JobStatus.CANCELLED.sources() == {JobStatus.PENDING, JobStatus.RUNNING}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_chatty_tool_is_throttled() -> None:
    clock = FakeClock()
    throttle = ProgressThrottle(0.25, clock)
    admitted = 0
    for _ in range(10_000):  # 10 000 reports over 10 simulated seconds
        admitted += throttle.admit()
        clock.now += 0.001
    assert admitted == 40  # the first, then one per 0.25 s


def test_the_first_report_passes_and_a_burst_does_not() -> None:
    clock = FakeClock()
    throttle = ProgressThrottle(1.0, clock)
    assert throttle.admit()
    assert not any(throttle.admit() for _ in range(1000))
    clock.now = 1.0
    assert throttle.admit()


def test_held_first_report_waits_one_interval_from_the_start() -> None:
    clock = FakeClock()
    throttle = ProgressThrottle(0.25, clock, hold_first=True)
    assert not any(throttle.admit() for _ in range(100))  # a short job writes no progress
    clock.now = 0.25
    assert throttle.admit()
    assert not throttle.admit()


def test_held_first_report_with_no_interval_passes_at_once() -> None:
    assert ProgressThrottle(0.0, FakeClock(), hold_first=True).admit()
