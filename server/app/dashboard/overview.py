"""The overview's read model: plugins with their worker pools, and the job queue.

Plugin health and metrics come from the registry (the same ``PluginHealth`` the REST API
serves); worker pools from the executor, for plugins that run in supervised processes;
queue depth from the job store. One endpoint gives the page all three in one poll.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.jobs.status import JobStatus
from app.observability.history import CallHistory, CallHistorySnapshot
from app.plugins.loader.plugin_registry import PluginHealth
from app.services.job_management_service import JobManagementService
from app.services.plugin_management_service import PluginManagementService


class WorkerPoolStats(BaseModel):
    """A plugin's worker processes as its pool reports them."""

    processes: int = Field(description="Worker processes alive now (idle, busy or booting).")
    max_workers: int = Field(description="The most the pool may run at once.")
    idle: int
    busy: int
    starting: int = Field(description="Workers being booted.")
    queued: int = Field(description="Calls admitted and waiting for a free worker.")
    replaced: int = Field(
        description="Workers replaced after a crash, timeout, memory kill or failed health check."
    )
    recycled: int = Field(
        default=0,
        description="Workers stopped because their caller cancelled the call (not a failure).",
    )
    circuit_open: bool


class PluginOverview(BaseModel):
    health: PluginHealth
    pool: WorkerPoolStats | None = Field(
        None, description="None for plugins without a local worker pool (in-process)."
    )


class JobQueue(BaseModel):
    pending: int = Field(description="Jobs waiting to run (the queue depth).")
    running: int


class Overview(BaseModel):
    plugins: list[PluginOverview]
    jobs: JobQueue
    history: CallHistorySnapshot | None = Field(
        None, description="Calls, failures and latency per plugin over the last minutes."
    )


def pool_stats(plugins: PluginManagementService, name: str) -> WorkerPoolStats | None:
    """The plugin's pool snapshot, if its executor keeps one (process isolation does;
    in-process execution and remote executors have no local workers to show)."""
    executor: Any = plugins.executor
    process = getattr(executor, "process", executor)  # the RoutingExecutor's process side
    find = getattr(process, "pool", None)
    pool = find(name) if callable(find) else None
    if pool is None:
        return None
    stats = pool.stats()
    return WorkerPoolStats(
        processes=stats["idle"] + stats["busy"] + stats["starting"],
        max_workers=stats["workers"],
        idle=stats["idle"],
        busy=stats["busy"],
        starting=stats["starting"],
        queued=stats["queued"],
        replaced=stats["replaced"],
        recycled=stats.get("recycled", 0),
        circuit_open=stats["circuit_open"],
    )


def build_overview(
    plugins: PluginManagementService,
    jobs: JobManagementService,
    history: CallHistory | None = None,
) -> Overview:
    rows = [
        PluginOverview(health=health, pool=pool_stats(plugins, health.name))
        for health in plugins.list_plugins()
    ]
    counts = jobs.count_by_status((JobStatus.PENDING, JobStatus.RUNNING))
    return Overview(
        plugins=rows,
        jobs=JobQueue(pending=counts[JobStatus.PENDING], running=counts[JobStatus.RUNNING]),
        history=history.snapshot() if history is not None else None,
    )
