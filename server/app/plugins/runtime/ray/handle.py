"""The server's side of one plugin actor: create, wait ready, call, kill.

A call is answered on the caller's own thread: it submits the actor task and waits on its
result. A fast call is one ``ray.get``. A call still running after one slice also starts a
:meth:`~.actor.PluginActor.watch` long-poll beside it, which brings progress and the
actor's memory reading back; while waiting, the thread looks at the deadline, the caller's
cancel flag and the pool's stopping flag every slice. Any of them ends in ``ray.kill`` —
which stops a tool stuck in C code or ``time.sleep``, on whatever node it runs — and the
call returns ``timeout``, ``cancelled`` or ``memory_limit`` at once. An actor (or its
node) that dies shows up as Ray's actor error on the pending result: ``worker_crashed``.

The failure vocabulary is the local worker's (:class:`WorkerLost`, :class:`WorkerFailure`,
:class:`StartupFailed`), so the pool and ToolRunner treat both executors alike.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, OutOfMemoryError, RayActorError, RayError

from app.errors import ErrorCode
from app.plugins.runtime.process.calls import (
    CallWatch,
    ProgressCallback,
    StartupFailed,
    WorkerFailure,
    WorkerLost,
    decode_reply,
    deliver_progress,
)
from app.plugins.runtime.process.ipc import protocol
from app.plugins.runtime.process.ipc.protocol import Failure
from app.plugins.runtime.ray.actor import PluginActor
from app.plugins.runtime.ray.config import ActorConfig
from app.tracing import remote

log = logging.getLogger("visor.runtime.ray")

_WATCH_S = 1.0  # one watch long-poll waits at most this long before it is renewed


class ActorHandle:
    def __init__(self, config: ActorConfig) -> None:
        self.config = config
        self.plugin = config.spec.plugin
        self._actor: Any = None
        self._ready_ref: Any = None
        self._stop_ref: Any = None
        self.pid: int | None = None
        self.node_id: str | None = None
        self.calls = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        options = self.config.actor_options()
        actor_cls: Any = PluginActor
        self._actor = actor_cls.options(**options).remote(self.config.spec, self.config.import_path)
        self._ready_ref = self._actor.ready.remote()

    def wait_ready(self, timeout_s: float) -> None:
        """Block until the plugin is built and started; raise :class:`StartupFailed`."""
        try:
            data = ray.get(self._ready_ref, timeout=timeout_s)
        except GetTimeoutError:
            self.kill()
            raise StartupFailed(
                f"the actor was not ready within {timeout_s:g}s (no node with the resources "
                f"{self._resources_text()}, or a slow startup hook)"
            ) from None
        except RayActorError as exc:
            raise StartupFailed(
                f"the actor's worker exited during startup ({_death_text(exc)})"
            ) from None
        except RayError as exc:
            self.kill()
            raise StartupFailed(f"the actor could not start: {type(exc).__name__}") from None
        tag, body = protocol.split(data)
        if tag == protocol.READY:
            self.pid, self.node_id = body.get("pid"), body.get("node_id")
            return
        self.kill()
        failure = Failure.from_json(body) if tag == protocol.ERROR else None
        if failure is None:
            raise StartupFailed(f"unexpected frame {tag!r} during startup")
        raise StartupFailed(
            failure.message,
            unavailable=failure.code == ErrorCode.PLUGIN_UNAVAILABLE.value,
            traceback=failure.traceback,
        )

    def is_alive(self) -> bool:
        return self._actor is not None

    def request_stop(self) -> None:
        """Ask the actor to run the plugin's shutdown hook (returns at once)."""
        if self._actor is not None and self._stop_ref is None:
            with contextlib.suppress(RayError):
                self._stop_ref = self._actor.stop.remote()

    def stop(self, grace_s: float = 2.0) -> None:
        """Run the plugin's shutdown hook within ``grace_s``, then kill the actor."""
        self.request_stop()
        if self._stop_ref is not None:
            with contextlib.suppress(RayError, GetTimeoutError):
                ray.get(self._stop_ref, timeout=max(0.1, grace_s))
        self.kill()

    def kill(self) -> None:
        """Kill the actor at once (idempotent; safe from any thread)."""
        actor, self._actor = self._actor, None
        if actor is not None:
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)

    def signal_kill(self) -> None:
        self.kill()

    def close_pipe(self) -> None:
        """Nothing to close: Ray owns the channel (the worker handle's interface)."""

    # -- requests ---------------------------------------------------------------------------

    def call(
        self,
        request: bytes,
        *,
        where: str,
        timeout_s: float | None,
        cancel: threading.Event,
        progress: ProgressCallback | None,
        memory_limit_mb: int | None,
        stopping: threading.Event,
    ) -> Any:
        """Run one call and return its result (decoded plain data).

        Raises :class:`WorkerFailure` when the tool's call failed inside the actor and
        :class:`WorkerLost` when the actor died or had to be killed.
        """
        actor = self._require_actor()
        self.calls += 1
        call_id = uuid.uuid4().hex
        call = CallWatch(where, timeout_s, cancel, stopping, kill=self.kill, worker="actor")
        ref = actor.call.remote(call_id, request)
        watch: Any = None
        seen = 0
        while True:
            wait = call.slice_s()
            if watch is None:
                done, _ = ray.wait([ref], timeout=wait)
                if done:
                    return self._reply(ref, call, progress, seen)
                watch = actor.watch.remote(call_id, seen, memory_limit_mb, _WATCH_S)
            else:
                done, _ = ray.wait([ref, watch], num_returns=1, timeout=wait)
                if ref in done:
                    return self._reply(ref, call, progress, seen)
                if done:
                    seen = self._watched(watch, progress, memory_limit_mb, seen)
                    watch = actor.watch.remote(call_id, seen, memory_limit_mb, _WATCH_S)
            call.check()

    def health(self, timeout_s: float) -> bool:
        actor = self._actor
        if actor is None:
            return False
        try:
            return bool(ray.get(actor.health.remote(), timeout=timeout_s))
        except (RayError, GetTimeoutError):
            return False

    # -- helpers ----------------------------------------------------------------------------

    def _reply(
        self, ref: Any, call: CallWatch, progress: ProgressCallback | None, seen: int
    ) -> Any:
        try:
            data, _recycle, reports, *finished = ray.get(ref)
        except RayActorError as exc:
            self.kill()
            if call.stopping.is_set():
                raise WorkerLost(
                    ErrorCode.CANCELLED, "call cancelled: the server is shutting down"
                ) from None
            raise self._died(exc) from None
        except OutOfMemoryError:
            self.kill()
            raise _memory_lost(self.plugin, self.config.pool.memory_limit_mb, "Ray") from None
        except RayError as exc:
            self.kill()
            raise WorkerLost(
                ErrorCode.WORKER_CRASHED,
                f"the actor running plugin {self.plugin!r} failed: {type(exc).__name__}",
            ) from None
        _deliver(progress, reports, seen)
        if finished and finished[0]:
            remote.export(finished[0])  # the tool's run, recorded on the actor
        if call.deadline is not None and time.monotonic() > call.deadline:
            # The tool stopped by itself (ctx.cancelled turned true at its limit) but
            # answered past it: the limit was exceeded, as in-process; the actor is fine.
            failure = Failure(
                ErrorCode.TIMEOUT.value,
                f"tool {call.where} exceeded its {call.timeout_s:g}s time limit",
                details={"timeout_s": call.timeout_s},
            )
            raise WorkerFailure(failure)
        return decode_reply(call.where, *protocol.split(data))

    def _watched(
        self, watch: Any, progress: ProgressCallback | None, memory_limit_mb: int | None, seen: int
    ) -> int:
        try:
            news: dict[str, Any] = ray.get(watch)
        except RayError:
            return seen  # the actor is going; the call's own result says how
        if "rss_mb" in news:
            self.kill()
            raise _memory_lost(self.plugin, memory_limit_mb, "the actor's resident memory")
        return _deliver(progress, news.get("progress") or [], seen)

    def _died(self, exc: RayActorError) -> WorkerLost:
        return WorkerLost(
            ErrorCode.WORKER_CRASHED,
            f"the actor running plugin {self.plugin!r} died ({_death_text(exc)})",
            {"node_id": self.node_id},
        )

    def _require_actor(self) -> Any:
        if self._actor is None:
            raise WorkerLost(ErrorCode.WORKER_CRASHED, "the actor is no longer available")
        return self._actor

    def _resources_text(self) -> str:
        options = self.config.actor_options()
        keys = ("num_cpus", "num_gpus", "memory")
        return ", ".join(f"{k}={options[k]:g}" for k in keys if options.get(k))


def _deliver(progress: ProgressCallback | None, reports: list[Any], seen: int) -> int:
    """Hand the reports newer than ``seen`` to the caller's sink; the newest seq seen."""
    for seq, fraction, message in reports:
        if seq <= seen:
            continue
        seen = int(seq)
        deliver_progress(progress, (fraction, message))
    return seen


def _death_text(exc: RayActorError) -> str:
    """A one-line cause for the log and the envelope (Ray's own message is long)."""
    text = str(exc)
    if "ray.kill" in text:
        return "killed by ray.kill"
    lowered = text.lower()
    if "worker process" not in lowered and "node" in lowered and "dead" in lowered:
        return "its node died"
    if "worker process has died" in text or "exits" in text:
        return "its worker process died"
    return type(exc).__name__


def _memory_lost(plugin: str, limit_mb: int | None, what: str) -> WorkerLost:
    return WorkerLost(
        ErrorCode.MEMORY_LIMIT,
        f"the actor running plugin {plugin!r} exceeded its memory limit of {limit_mb} MB "
        f"(measured by {what}); it was stopped",
        {"memory_limit_mb": limit_mb},
    )
