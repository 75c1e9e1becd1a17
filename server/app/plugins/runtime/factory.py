"""Builds the executor the app runs tools on, from settings.

Every plugin goes through a :class:`RoutingExecutor`: supervised worker processes by
default (SPEC §4) or Ray actors with ``VISOR_EXECUTOR=ray``, in-process only where the
operator's settings say so. All executors take their per-plugin concurrency limit and queue
bound from the same options.
"""

from __future__ import annotations

from app.plugins.loader.plugin_registry import PluginRegistry
from app.plugins.runtime.executor import Executor
from app.plugins.runtime.in_process import InProcessExecutor
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.process.config import auto_workers
from app.plugins.runtime.routing import RoutingExecutor
from app.settings import Settings


def process_options(settings: Settings) -> ProcessOptions:
    return ProcessOptions(
        default_workers=settings.workers_per_plugin,
        workers=dict(settings.plugin_workers),
        min_workers=settings.warm_workers,
        queue_size=settings.worker_queue_size,
        queue_sizes=dict(settings.plugin_queue_sizes),
        memory_limit_mb=settings.worker_memory_limit_mb or None,
        memory_limits_mb=dict(settings.plugin_memory_limits_mb),
        startup_timeout_s=settings.worker_startup_timeout_s,
        max_result_bytes=settings.max_result_bytes,
        circuit_failures=settings.circuit_failures,
        circuit_window_s=settings.circuit_window_s,
        circuit_cooldown_s=settings.circuit_cooldown_s,
        batching=settings.batching,
    )


def isolated_executor(
    settings: Settings, options: ProcessOptions, registry: PluginRegistry | None
) -> Executor:
    """Where isolated plugins run: local worker processes, or Ray actors
    (``VISOR_EXECUTOR=ray``; Ray is imported only then: it is an optional extra)."""
    if settings.executor == "ray":
        from app.plugins.runtime.ray import RayExecutor, RayOptions

        ray_options = RayOptions(
            address=settings.ray_address,
            limits=options,
            num_cpus=settings.ray_num_cpus,
            resources=dict(settings.ray_plugin_resources),
            local_num_cpus=settings.ray_local_num_cpus,
            idle_s=settings.ray_actor_idle_s or None,
        )
        return RayExecutor(ray_options, registry=registry)
    return ProcessExecutor(options, registry=registry)


#: Threads for requests that wait on tools, at most (each is a blocked thread: ~100 KB).
MAX_REQUEST_THREADS = 2048


def request_threads(settings: Settings, plugins: int) -> int:
    """Threads the server needs so every plugin's running and queued calls fit at once,
    plus anyio's default 40 for everything else (docs/isolation.md, Admission)."""
    options = process_options(settings)
    workers = options.default_workers or auto_workers()
    per_plugin = max([workers, *options.workers.values()]) + max(
        [options.queue_size, *options.queue_sizes.values()]
    )
    return min(MAX_REQUEST_THREADS, 40 + plugins * per_plugin)


def build_executor(settings: Settings, registry: PluginRegistry | None = None) -> Executor:
    """The app's executor; ``registry`` receives circuit-breaker state changes."""
    options = process_options(settings)
    return RoutingExecutor(
        isolated_executor(settings, options, registry),
        InProcessExecutor(options),
        force_in_process=settings.force_in_process,
        overrides=settings.plugin_isolation,
    )
