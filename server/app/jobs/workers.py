"""Who runs jobs: each server's dispatcher registers as a worker and proves it is alive.

A RUNNING job belongs to the worker that claimed it. Another server may only take it back
when that worker is provably gone: its heartbeat is older than the lease, or it ran on
this host and its process (pid *and* start time, so a reused pid does not count) no longer
exists. The second rule makes recovery after ``kill -9`` immediate on restart instead of
waiting out the lease.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

import psutil

from app.jobs.store.repository import WorkerRow
from app.store.clock import now_us
from app.store.ids import new_id


def _process_started(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def this_worker() -> WorkerRow:
    """A fresh identity for this process's dispatcher (one per server start)."""
    stamp = now_us()
    pid = os.getpid()
    return WorkerRow(
        id=new_id(),
        hostname=socket.gethostname(),
        pid=pid,
        process_started=_process_started(pid) or 0.0,
        started_us=stamp,
        heartbeat_us=stamp,
    )


def is_alive(worker: WorkerRow, *, lease_s: float, at_us: int, hostname: str) -> bool:
    if at_us - worker.heartbeat_us > lease_s * 1_000_000:
        return False
    if worker.hostname == hostname:
        started = _process_started(worker.pid)
        return started is not None and abs(started - worker.process_started) < 1.0
    return True


def split_alive(
    rows: Iterable[WorkerRow], *, lease_s: float, hostname: str | None = None
) -> tuple[list[str], list[str]]:
    """``(alive_ids, dead_ids)`` of the registered workers, judged now."""
    host = hostname or socket.gethostname()
    at = now_us()
    alive: list[str] = []
    dead: list[str] = []
    for row in rows:
        (alive if is_alive(row, lease_s=lease_s, at_us=at, hostname=host) else dead).append(row.id)
    return alive, dead
