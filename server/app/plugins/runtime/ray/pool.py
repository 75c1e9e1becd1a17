"""One plugin's pool of Ray actors: the local worker pool, with actors for workers.

It grows and shrinks between ``min_workers`` (``VISOR_WARM_WORKERS``) and ``workers``
(``VISOR_PLUGIN_WORKERS``) on its queue: a call that holds a slot and finds no idle actor
starts one (the local pool's rule), and an actor beyond ``min_workers`` that has been idle
for ``idle_s`` (``VISOR_RAY_ACTOR_IDLE_S``) is stopped, giving its CPUs or GPU back to
the cluster. Only idle actors are stopped, under the pool's lock, so no call ever loses
its actor to the shrink.

Admission (concurrency = replicas, a bounded queue, ``overloaded`` beyond it), replacement
of a lost replica in the background, the circuit breaker and the half-open probe are the
local :class:`~app.plugins.runtime.process.pool.WorkerPool`'s, unchanged: only the thing
that runs a call differs. So the contract cannot drift between the two executors, and
never more than ``replicas`` Ray tasks per plugin exist: calls beyond them wait in the
pool's queue, not in Ray's.
"""

from __future__ import annotations

import threading
import time
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
        self._idle_since: dict[Any, float] = {}
        self._reaper: threading.Thread | None = None
        self.shrunk = 0  # actors stopped for being idle

    def _new_handle(self) -> ActorHandle:  # type: ignore[override]
        return ActorHandle(self.actor_config)

    def start(self) -> None:
        super().start()
        idle_s = self.actor_config.idle_s
        if idle_s and self.config.workers > self.config.min_workers:
            self._reaper = threading.Thread(
                target=self._reap_idle,
                args=(idle_s,),
                name=f"visor-shrink-{self.name}",
                daemon=True,
            )
            self._reaper.start()

    def _release(self, worker: Any, elapsed_s: float | None) -> None:
        self._idle_since[worker] = time.monotonic()
        super()._release(worker, elapsed_s)

    def _reap_idle(self, idle_s: float) -> None:
        """Stop actors idle for ``idle_s`` while the pool is above ``min_workers``."""
        while not self._stopping.wait(min(1.0, idle_s / 4)):
            now = time.monotonic()
            with self._cond:
                if self._closing:
                    return
                for handle in self._idle:  # booted and never used: idle since now
                    self._idle_since.setdefault(handle, now)
                live = {*self._idle, *self._busy}
                for handle in [h for h in self._idle_since if h not in live]:
                    del self._idle_since[handle]  # replaced or stopped meanwhile
                present = len(self._idle) + len(self._busy) + self._starting
                surplus = present - self.config.min_workers
                stale = sorted(
                    (h for h in self._idle if now - self._idle_since.get(h, now) >= idle_s),
                    key=lambda h: self._idle_since.get(h, now),
                )[: max(0, surplus)]
                for handle in stale:
                    self._idle.remove(handle)
                    self._idle_since.pop(handle, None)
                self.shrunk += len(stale)
            for handle in stale:
                handle.stop(2.0)

    def stats(self) -> dict[str, Any]:
        stats = super().stats()
        stats["shrunk"] = self.shrunk
        return stats

    def nodes(self) -> list[str]:
        """The Ray node ids the replicas run on (for operators and tests)."""
        with self._cond:
            handles: list[Any] = [*self._idle, *self._busy]
        return [h.node_id for h in handles if h.node_id is not None]
