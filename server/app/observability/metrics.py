"""Prometheus metrics: calls by plugin/tool/outcome, a latency histogram, plugins by state,
batch sizes of batching tools.

The ``outcome`` label says whose doing a call's end was: ``SUCCESS``; ``CANCELLED`` (the
caller cancelled) and ``INVALID_INPUT`` (the caller's input was refused), which are not
the plugin's failures; else the registry's outcome (``ERROR``, ``FAILED``, ``UNAVAILABLE``).
So ``outcome=~"ERROR|FAILED|UNAVAILABLE"`` is what to alert on.

Each app gets its own ``CollectorRegistry`` so several apps (tests, replicas in one
process) never collide. Call metrics are fed by the PluginRegistry's call observers; the
plugin-state gauge is read from the PluginRegistry at scrape time, and the batch-size
histogram from the executor's counts (nothing on a call's path but one counter bump).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from app.plugins.loader.plugin_registry import CallKind, CallRecord, PluginRegistry

UNKNOWN = "_unknown"
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _PluginStateCollector(Collector):
    def __init__(self, registry: PluginRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("visor_plugins", "Plugins by lifecycle state.", labels=["state"])
        for state, count in self._registry.counts_by_state().items():
            gauge.add_metric([state.value], count)
        yield gauge


BatchSizes = Callable[[], Mapping[str, Mapping[str, Mapping[int, int]]]]
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class BatchSizeCollector(Collector):
    """``visor_batch_size``: how many calls each batch of a batching tool held."""

    def __init__(self, sizes: BatchSizes) -> None:
        self._sizes = sizes

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "visor_batch_size",
            "Calls per batch sent to a worker, for tools that declare batching.",
            labels=["plugin", "tool"],
        )
        for plugin, tools in sorted(self._sizes().items()):
            for tool, counts in sorted(tools.items()):
                buckets = [
                    (str(bound), sum(n for size, n in counts.items() if size <= bound))
                    for bound in _BATCH_BUCKETS
                ]
                buckets.append(("+Inf", sum(counts.values())))
                total = sum(size * n for size, n in counts.items())
                family.add_metric([plugin, tool], buckets, total)
        yield family


class PrometheusMetrics:
    def __init__(self, plugins: PluginRegistry, batch_sizes: BatchSizes | None = None) -> None:
        self.registry = CollectorRegistry()
        self._plugins = plugins
        self.calls = Counter(
            "visor_tool_calls",
            "Tool calls by plugin, tool, outcome (SUCCESS, ERROR, FAILED, UNAVAILABLE, "
            "CANCELLED, INVALID_INPUT) and error code.",
            ["plugin", "tool", "outcome", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "visor_tool_duration_seconds",
            "Wall time of tool calls as ToolRunner measured them.",
            ["plugin", "tool"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_PluginStateCollector(plugins))
        if batch_sizes is not None:
            self.registry.register(BatchSizeCollector(batch_sizes))
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self) -> None:
        self._unsubscribe = self._plugins.subscribe(self.observe)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def observe(self, call: CallRecord) -> None:
        # Unknown plugin names come from clients: never let them mint label values.
        plugin = call.plugin if call.known_plugin else UNKNOWN
        tool = call.tool if call.tool is not None else UNKNOWN
        self.calls.labels(plugin, tool, _outcome_label(call), call.code or "").inc()
        self.latency.labels(plugin, tool).observe(call.elapsed_ms / 1000.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _outcome_label(call: CallRecord) -> str:
    """The registry's outcome, except for calls that were the caller's doing."""
    if call.kind in (CallKind.CANCELLED, CallKind.INVALID_INPUT):
        return call.kind.value
    return call.outcome.value
