"""Admission: a concurrency limit, a bounded first-come-first-served queue, cheap refusals."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from isolation_helpers import eventually

from app.errors import ErrorCode, VisorError
from app.plugins.runtime.admission import Admission
from app.plugins.runtime.executor import CallContext


def _queue_up(admission: Admission, order: list[int], i: int, **kwargs: Any) -> threading.Thread:
    def run() -> None:
        try:
            admission.acquire(**kwargs)
        except VisorError as exc:
            order.append(-i if exc.code is ErrorCode.CANCELLED else 1000 + i)
            return
        order.append(i)
        admission.release()

    thread = threading.Thread(target=run, daemon=True)
    before = admission.stats()["queued"]
    thread.start()
    eventually(lambda: admission.stats()["queued"] == before + 1, f"waiter {i} to queue")
    return thread


def test_waiters_get_the_slot_in_arrival_order() -> None:
    admission = Admission("p", limit=1, queue_size=20)
    admission.acquire()
    order: list[int] = []
    threads = [_queue_up(admission, order, i) for i in range(20)]
    admission.release()
    for thread in threads:
        thread.join(10)
    assert order == list(range(20))
    assert admission.stats() == {
        "limit": 1,
        "queue_size": 20,
        "running": 0,
        "queued": 0,
        "refused": 0,
    }


def test_beyond_the_queue_calls_are_refused_with_a_retry_hint() -> None:
    admission = Admission("p", limit=2, queue_size=1)
    admission.acquire()
    admission.acquire()
    order: list[int] = []
    waiter = _queue_up(admission, order, 1)
    with pytest.raises(VisorError) as refused:
        admission.acquire()
    assert refused.value.code is ErrorCode.OVERLOADED
    assert refused.value.details["retry_after_s"] >= 1
    assert admission.stats()["refused"] == 1
    admission.release()
    waiter.join(10)
    assert order == [1]


def test_a_cancelled_waiter_leaves_at_once_and_keeps_nobodys_place() -> None:
    admission = Admission("p", limit=1, queue_size=5)
    admission.acquire()
    order: list[int] = []
    ctx = CallContext()
    first = _queue_up(admission, order, 1, cancel=ctx.cancel_event)
    second = _queue_up(admission, order, 2)
    ctx.cancel()  # woken by the cancel event's callback, not by a poll
    first.join(10)
    assert order == [-1]
    admission.release()
    second.join(10)
    assert order == [-1, 2]


def test_a_waiter_times_out_at_its_calls_limit() -> None:
    admission = Admission("p", limit=1, queue_size=5)
    admission.acquire()
    with pytest.raises(VisorError) as waited:
        admission.acquire(timeout_s=0.05)
    assert waited.value.code is ErrorCode.OVERLOADED  # saturated, not broken
    assert waited.value.details["queued"] is True
    assert admission.stats()["queued"] == 0


def test_closing_sends_waiters_away_and_refuses_newcomers() -> None:
    admission = Admission("p", limit=1, queue_size=5)
    admission.acquire()
    order: list[int] = []
    waiter = _queue_up(admission, order, 1)
    admission.close(VisorError("stopping", code=ErrorCode.PLUGIN_UNAVAILABLE))
    waiter.join(10)
    assert order == [1001]
    with pytest.raises(VisorError) as closed:
        admission.acquire()
    assert closed.value.code is ErrorCode.PLUGIN_UNAVAILABLE
