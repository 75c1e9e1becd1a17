"""Reads the autoscaling signal (:mod:`app.observability.scaling`) from the job store and
this server's executors: for ``GET /v1/scaling`` and the gauges on ``/metrics``."""

from __future__ import annotations

import time
from typing import Any

from app.observability.scaling import PluginDemand, ScalingSignal
from app.services.job_management_service import JobManagementService
from app.services.plugin_management_service import PluginManagementService


def read_signal(
    plugins: PluginManagementService, jobs: JobManagementService, job_slots: int
) -> ScalingSignal:
    now_us = time.time() * 1_000_000
    pending = jobs.pending_by_plugin()
    names = sorted({*plugins.registry.names(), *pending})
    rows = []
    for name in names:
        count, oldest = pending.get(name, (0, 0))
        stats = _admission(plugins.executor, name)
        rows.append(
            PluginDemand(
                plugin=name,
                pending_jobs=count,
                oldest_pending_age_s=max(0.0, (now_us - oldest) / 1e6) if count else 0.0,
                queued_calls=stats.get("queued", 0),
                running_calls=stats.get("running", 0),
                capacity=stats.get("limit", 0),
            )
        )
    return ScalingSignal(
        pending_jobs=sum(r.pending_jobs for r in rows),
        oldest_pending_age_s=max((r.oldest_pending_age_s for r in rows), default=0.0),
        queued_calls=sum(r.queued_calls for r in rows),
        running_jobs_capacity=job_slots,
        plugins=rows,
    )


def _admission(executor: Any, name: str) -> dict[str, int]:
    """The plugin's admission counters on this server, wherever it runs (worker processes,
    Ray actors, in process); empty for a plugin not started here."""
    for side in (getattr(executor, "process", None), getattr(executor, "in_process", None)):
        if side is None:
            continue
        found = _of(side, name)
        if found:
            return found
    return _of(executor, name)


def _of(executor: Any, name: str) -> dict[str, int]:
    pool = getattr(executor, "pool", None)
    if callable(pool) and (found := pool(name)) is not None:
        return dict(found.admission.stats())
    admission = getattr(executor, "admission", None)
    if callable(admission) and (found := admission(name)) is not None:
        return dict(found.stats())
    return {}
