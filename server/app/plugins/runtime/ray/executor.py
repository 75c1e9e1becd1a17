"""RayExecutor: the executor seam's implementation on a Ray cluster (SPEC §4).

Each plugin runs in a pool of Ray actors (its replicas), each built from the plugin's entry
point and started once. Everything above the pool — starting plugins on demand, the
cooldown after a failed start, the circuit monitor and its registry transitions, shutdown —
is the local :class:`~app.plugins.runtime.process.executor.ProcessExecutor`'s, so both
executors keep ToolRunner's contract the same way. Ray is joined lazily, when the first
plugin starts, never at import or app construction.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from app.plugins.loader.plugin_registry import PluginRecord, PluginRegistry
from app.plugins.runtime.process.circuit import CircuitBreaker
from app.plugins.runtime.process.config import PoolConfig
from app.plugins.runtime.process.executor import ProcessExecutor
from app.plugins.runtime.ray import cluster
from app.plugins.runtime.ray.config import RayOptions
from app.plugins.runtime.ray.pool import ActorPool

ISOLATION = "ray"


class RayExecutor(ProcessExecutor):
    def __init__(
        self, options: RayOptions | None = None, *, registry: PluginRegistry | None = None
    ) -> None:
        self.ray_options = options or RayOptions()
        super().__init__(self.ray_options.limits, registry=registry)
        self._connect_lock = threading.Lock()
        self._connected = False
        self._owns_connection = False
        self._import_path: tuple[str, ...] = ()

    def connect(self) -> None:
        """Join (or start) Ray once; later calls return at once."""
        if self._connected:
            return
        with self._connect_lock:
            if not self._connected:
                self._owns_connection = cluster.connect(
                    self.ray_options.address, num_cpus=self.ray_options.local_num_cpus
                )
                if not self.ray_options.address:  # a Ray on this machine: same files
                    self._import_path = cluster.local_import_path()
                self._connected = True

    def start_plugin(self, record: PluginRecord) -> None:
        super().start_plugin(record)
        record.isolation = ISOLATION  # the health API shows where it really runs

    def _new_pool(
        self, record: PluginRecord, config: PoolConfig, circuit: CircuitBreaker
    ) -> ActorPool:
        self.connect()
        actor_config = self.ray_options.actor_config(record, config)
        if self._import_path:
            actor_config = dataclasses.replace(actor_config, import_path=self._import_path)
        return ActorPool(
            actor_config,
            self._pump,
            circuit,
            on_circuit_open=self._circuit_opened,
            health_timeout_s=self.options.health_timeout_s,
        )

    def shutdown(self, timeout_s: float = 10.0) -> None:
        super().shutdown(timeout_s)
        if self._owns_connection:
            cluster.disconnect()
            self._owns_connection = False

    def nodes(self, name: str) -> list[str]:
        """The Ray node ids ``name``'s replicas run on."""
        pool: Any = self.pool(name)
        return list(pool.nodes()) if pool is not None else []
