"""One plugin's pool of Ray actors: the local worker pool, with actors for workers.

Admission (concurrency = replicas, a bounded queue, ``overloaded`` beyond it), replacement
of a lost replica in the background, the circuit breaker and the half-open probe are the
local :class:`~app.plugins.runtime.process.pool.WorkerPool`'s, unchanged: only the thing
that runs a call differs. So the contract cannot drift between the two executors, and
never more than ``replicas`` Ray tasks per plugin exist: calls beyond them wait in the
pool's queue, not in Ray's.
"""

from __future__ import annotations

from typing import Any

from app.plugins.runtime.process.circuit import CircuitBreaker
from app.plugins.runtime.process.output import OutputPump
from app.plugins.runtime.process.pool import CircuitListener, WorkerPool
from app.plugins.runtime.ray.config import ActorConfig
from app.plugins.runtime.ray.handle import ActorHandle


class ActorPool(WorkerPool):
    batching = False  # actors answer one call at a time: batching tools run unbatched on Ray

    def __init__(
        self,
        config: ActorConfig,
        pump: OutputPump,
        circuit: CircuitBreaker,
        *,
        on_circuit_open: CircuitListener | None = None,
        health_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(
            config.pool,
            config.spec,
            pump,
            circuit,
            on_circuit_open=on_circuit_open,
            health_timeout_s=health_timeout_s,
        )
        self.actor_config = config

    def _new_handle(self) -> ActorHandle:  # type: ignore[override]
        return ActorHandle(self.actor_config)

    def nodes(self) -> list[str]:
        """The Ray node ids the replicas run on (for operators and tests)."""
        with self._cond:
            handles: list[Any] = [*self._idle, *self._busy]
        return [h.node_id for h in handles if h.node_id is not None]
