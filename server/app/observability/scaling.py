"""The autoscaling signal (issue 27): how much work waits, per plugin, as a JSON document
(``GET /v1/scaling``) and as Prometheus gauges on ``/metrics``.

Three numbers say whether to add or remove capacity:

- ``pending_jobs`` — jobs accepted and not yet claimed, over every server sharing the job
  store (the same number on each server: scale the whole deployment on it);
- ``oldest_pending_age_s`` — how long the oldest of them has waited (a latency budget:
  scale up when it passes what your users tolerate, whatever the count);
- ``queued_calls`` / ``running_calls`` — synchronous and job calls inside *this* server's
  admission for the plugin (waiting for a worker / holding one), against ``capacity``.

KEDA and an HPA use them as they are (examples/deploy/): the job numbers through a
Prometheus query or KEDA's metrics-api scaler on ``/v1/scaling``, the admission numbers
per pod.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field


class PluginDemand(BaseModel):
    plugin: str
    pending_jobs: int = Field(description="PENDING jobs for this plugin, on every server.")
    oldest_pending_age_s: float = Field(description="Age of the oldest of them (0: none).")
    queued_calls: int = Field(description="Calls waiting in this server's admission queue.")
    running_calls: int = Field(description="Calls holding a worker on this server.")
    capacity: int = Field(description="Calls this server runs at once for the plugin.")


class ScalingSignal(BaseModel):
    pending_jobs: int = Field(description="PENDING jobs over all plugins and servers.")
    oldest_pending_age_s: float = Field(description="Age of the oldest PENDING job (0: none).")
    queued_calls: int = Field(description="Calls waiting in this server's admission queues.")
    running_jobs_capacity: int = Field(description="Jobs this server runs at once.")
    plugins: list[PluginDemand]


class ScalingCollector(Collector):
    """The signal as gauges, read when Prometheus scrapes (never cached)."""

    def __init__(self, read: Callable[[], ScalingSignal]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        signal = self._read()
        pending = GaugeMetricFamily(
            "visor_jobs_pending", "PENDING jobs per plugin (all servers).", labels=["plugin"]
        )
        age = GaugeMetricFamily(
            "visor_jobs_oldest_pending_age_seconds",
            "Age of the oldest PENDING job per plugin (all servers).",
            labels=["plugin"],
        )
        queued = GaugeMetricFamily(
            "visor_admission_queue_depth",
            "Calls waiting in this server's admission queue per plugin.",
            labels=["plugin"],
        )
        running = GaugeMetricFamily(
            "visor_admission_running", "Calls running on this server per plugin.", labels=["plugin"]
        )
        capacity = GaugeMetricFamily(
            "visor_admission_capacity",
            "Calls this server runs at once per plugin.",
            labels=["plugin"],
        )
        for row in signal.plugins:
            pending.add_metric([row.plugin], row.pending_jobs)
            age.add_metric([row.plugin], row.oldest_pending_age_s)
            queued.add_metric([row.plugin], row.queued_calls)
            running.add_metric([row.plugin], row.running_calls)
            capacity.add_metric([row.plugin], row.capacity)
        oldest = GaugeMetricFamily(
            "visor_jobs_oldest_pending_age_max_seconds",
            "Age of the oldest PENDING job of any plugin (all servers).",
            value=signal.oldest_pending_age_s,
        )
        yield from (pending, age, queued, running, capacity, oldest)
