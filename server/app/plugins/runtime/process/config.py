"""What a plugin's worker pool is configured with, and where each value comes from.

Precedence for every per-plugin value: an operator's per-plugin setting, then the plugin
class's own preference (``Plugin.workers``, ``Plugin.memory_limit_mb``), then the
server-wide default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.plugins.loader.plugin_registry import PluginRecord


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

    workers: int
    queue_size: int
    memory_limit_mb: int | None
    startup_timeout_s: float
    max_result_bytes: int


@dataclass(frozen=True)
class ProcessOptions:
    """Executor-wide settings for process isolation (built from :class:`Settings`)."""

    default_workers: int | None = None  # None: the plugin class decides (Plugin.workers)
    workers: Mapping[str, int] = field(default_factory=dict)
    queue_size: int = 16
    queue_sizes: Mapping[str, int] = field(default_factory=dict)
    memory_limit_mb: int | None = 2048
    memory_limits_mb: Mapping[str, int] = field(default_factory=dict)
    startup_timeout_s: float = 60.0
    max_result_bytes: int = 32 * 1024 * 1024
    circuit_failures: int = 3
    circuit_window_s: float = 60.0
    circuit_cooldown_s: float = 5.0
    health_timeout_s: float = 10.0

    def pool_config(self, record: PluginRecord) -> PoolConfig:
        cls = record.plugin_cls
        workers = self.workers.get(record.name)
        if workers is None:
            workers = self.default_workers
        if workers is None:
            workers = cls.workers if cls is not None else 1
        memory = self.memory_limits_mb.get(record.name)
        if memory is None and cls is not None:
            memory = cls.memory_limit_mb
        if memory is None:
            memory = self.memory_limit_mb
        return PoolConfig(
            workers=max(1, int(workers)),
            queue_size=max(0, int(self.queue_sizes.get(record.name, self.queue_size))),
            memory_limit_mb=int(memory) if memory else None,  # 0 means unlimited
            startup_timeout_s=self.startup_timeout_s,
            max_result_bytes=self.max_result_bytes,
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
