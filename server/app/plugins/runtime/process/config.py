"""What a plugin's worker pool is configured with, and where each value comes from.

Precedence for every per-plugin value: an operator's per-plugin setting, then the plugin
class's own preference (``Plugin.workers``, ``Plugin.memory_limit_mb``), then the
server-wide default. The default number of workers is the machine's CPU count (capped at
:data:`MAX_AUTO_WORKERS`): tools spend their time in C libraries, and one process per core
is what lets a plugin use the machine. Only ``min_workers`` start with the plugin; the
rest boot when calls wait for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.plugins.base import Batching
from app.plugins.loader.plugin_registry import PluginRecord

#: A queue that absorbs a burst of a few seconds of work (docs/isolation.md, "Defaults").
DEFAULT_QUEUE_SIZE = 128
#: The automatic worker count stops here: more processes than this per plugin cost memory
#: (one model copy each) for little gain on a single machine.
MAX_AUTO_WORKERS = 8


def auto_workers() -> int:
    """Workers per plugin when nobody chose: the CPUs this process may use, 1 to 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_AUTO_WORKERS, cpus))


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker process needs to build its plugin; crosses the spawn, so picklable."""

    plugin: str
    origin: str | None
    class_path: str | None
    memory_limit_mb: int | None
    max_result_bytes: int


@dataclass(frozen=True)
class PoolConfig:
    """One plugin's pool: how many workers, how much queue, which limits."""

    workers: int  # at most this many run at once
    queue_size: int
    min_workers: int  # booted with the plugin and kept
    memory_limit_mb: int | None
    startup_timeout_s: float
    max_result_bytes: int
    #: Tools whose concurrent calls are batched (docs/isolation.md, "Dynamic batching").
    batching: Mapping[str, Batching] = field(default_factory=dict)

    @property
    def concurrency(self) -> int:
        """Calls that may run at once: one per worker, or a full batch per worker."""
        largest = max((b.max_size for b in self.batching.values()), default=1)
        return self.workers * largest


@dataclass(frozen=True)
class ProcessOptions:
    """Executor-wide settings for process isolation (built from :class:`Settings`)."""

    default_workers: int | None = None  # None: the CPU count (see auto_workers)
    workers: Mapping[str, int] = field(default_factory=dict)
    min_workers: int = 1
    queue_size: int = DEFAULT_QUEUE_SIZE
    queue_sizes: Mapping[str, int] = field(default_factory=dict)
    memory_limit_mb: int | None = 2048
    memory_limits_mb: Mapping[str, int] = field(default_factory=dict)
    startup_timeout_s: float = 60.0
    max_result_bytes: int = 32 * 1024 * 1024
    circuit_failures: int = 3
    circuit_window_s: float = 60.0
    circuit_cooldown_s: float = 5.0
    health_timeout_s: float = 10.0
    batching: bool = True  # False: every call runs alone, whatever its tool declares

    def pool_config(self, record: PluginRecord) -> PoolConfig:
        cls = record.plugin_cls
        workers = self.workers.get(record.name)
        if workers is None and cls is not None:
            workers = cls.workers
        if workers is None:
            workers = self.default_workers
        if workers is None:
            workers = auto_workers()
        workers = max(1, int(workers))
        memory = self.memory_limits_mb.get(record.name)
        if memory is None and cls is not None:
            memory = cls.memory_limit_mb
        if memory is None:
            memory = self.memory_limit_mb
        return PoolConfig(
            workers=workers,
            queue_size=max(0, int(self.queue_sizes.get(record.name, self.queue_size))),
            min_workers=max(1, min(workers, int(self.min_workers))),
            memory_limit_mb=int(memory) if memory else None,  # 0 means unlimited
            startup_timeout_s=self.startup_timeout_s,
            max_result_bytes=self.max_result_bytes,
            batching={
                name: spec.batch
                for name, spec in record.tools.items()
                if self.batching and spec.batch is not None and spec.batch.max_size > 1
            },
        )

    def worker_spec(self, record: PluginRecord, config: PoolConfig) -> WorkerSpec:
        cls = record.plugin_cls
        class_path = f"{cls.__module__}:{cls.__qualname__}" if cls is not None else None
        return WorkerSpec(
            plugin=record.name,
            origin=record.origin,
            class_path=class_path,
            memory_limit_mb=config.memory_limit_mb,
            max_result_bytes=config.max_result_bytes,
        )
