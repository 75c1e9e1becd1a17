"""What a plugin's Ray actors are configured with, and where each value comes from.

The limits an actor shares with a local worker — replicas (``workers``), queue, memory
limit, startup time, result size — come from the same :class:`ProcessOptions`, so a
plugin behaves the same on either executor. What only Ray needs — CPUs, GPUs and memory
to *reserve* on a node — comes from, in order: the operator's per-plugin
``ray_plugin_resources``, then the plugin class's own ``num_cpus`` / ``num_gpus`` /
``memory_limit_mb``, then the server-wide ``ray_num_cpus``. Only a memory limit set for
this plugin is reserved; the server-wide default limit is enforced but not reserved, so a
small machine can still place every plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.plugins.loader.plugin_registry import PluginRecord
from app.plugins.runtime.process.config import PoolConfig, ProcessOptions, WorkerSpec


@dataclass(frozen=True)
class ActorConfig:
    """One plugin's actors: the shared pool limits, the spec to build it, Ray resources."""

    pool: PoolConfig
    spec: WorkerSpec
    num_cpus: float
    num_gpus: float
    memory_mb: int | None  # reserved on the node (Ray's ``memory`` resource)
    import_path: tuple[str, ...] = ()  # extra sys.path entries for the actor (local Ray)
    idle_s: float | None = None  # an actor beyond min_workers idle this long is stopped

    def actor_options(self) -> dict[str, Any]:
        """Keyword arguments for ``ActorClass.options``."""
        options: dict[str, Any] = {
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "max_restarts": 0,  # the pool replaces actors itself and knows why they went
            "max_task_retries": 0,  # a call that died with its actor is never re-run by Ray
        }
        if self.memory_mb:
            options["memory"] = self.memory_mb * 1024 * 1024
        return options


@dataclass(frozen=True)
class RayOptions:
    """Executor-wide settings for Ray (built from :class:`~app.settings.Settings`)."""

    address: str = ""
    limits: ProcessOptions = field(default_factory=ProcessOptions)
    num_cpus: float = 1.0
    resources: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    local_num_cpus: int | None = None
    idle_s: float | None = 60.0  # shrink: actors beyond min_workers idle this long stop

    def actor_config(self, record: PluginRecord, pool: PoolConfig | None = None) -> ActorConfig:
        pool = pool or self.limits.pool_config(record)
        cls = record.plugin_cls
        declared = self.resources.get(record.name, {})
        num_cpus = declared.get("num_cpus", getattr(cls, "num_cpus", None))
        num_gpus = declared.get("num_gpus", getattr(cls, "num_gpus", None))
        memory = declared.get("memory_mb")
        if memory is None:
            memory = self.limits.memory_limits_mb.get(record.name)
        if memory is None and cls is not None:
            memory = cls.memory_limit_mb
        return ActorConfig(
            pool=pool,
            spec=self.limits.worker_spec(record, pool),
            num_cpus=float(self.num_cpus if num_cpus is None else num_cpus),
            num_gpus=float(num_gpus or 0),
            memory_mb=int(memory) if memory else None,
            idle_s=self.idle_s,
        )
