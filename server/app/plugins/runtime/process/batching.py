"""Dynamic batching: concurrent calls of one tool gathered and sent to a worker together.

A tool that declares :class:`~app.plugins.base.Batching` gets a :class:`Batcher` in its
plugin's pool. A call (already validated by ToolRunner and admitted by the pool) joins the
tool's queue and its caller waits for its own answer. One dispatcher thread per worker
takes calls off the queue: when no other batch is running it sends what is there at once
(a lone call waits for nobody); otherwise it waits up to the tool's ``max_delay_ms`` for
the batch to fill to ``max_size``. The batch travels as one frame and comes back as one
frame holding each call's own reply, which is decoded exactly as an unbatched reply is.

Each call keeps what a call of its own has: its deadline (counted from when it joined the
queue) and its cancel flag end *its* wait at once with ``timeout`` / ``cancelled``; the
worker is killed only when nobody waits for its batch any more, or at shutdown. Its admission
slot is held until the call really ended (its reply came, or its batch was given up), as
for unbatched calls. Calls whose caller listens for progress are not batched.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

from app.errors import ErrorCode, VisorError
from app.plugins.base import Batching
from app.plugins.runtime.executor import ToolCall
from app.plugins.runtime.process.calls import SLICE_S, WorkerLost

_CANCEL_CHECK_S = 0.25  # only for a plain threading.Event as the cancel flag


class BatchItem:
    """One call in a batching queue: its payload, its limits, and its outcome."""

    __slots__ = (
        "_lock",
        "attachments",
        "cancel",
        "deadline",
        "done",
        "error",
        "event",
        "payload",
        "timeout_s",
        "value",
    )

    def __init__(self, call: ToolCall) -> None:
        self.payload = call.payload
        self.timeout_s = call.timeout_s
        self.deadline = None if call.timeout_s is None else time.monotonic() + call.timeout_s
        self.cancel = call.context.cancel_event
        self.attachments = call.context.attachments
        self.event = threading.Event()
        self._lock = threading.Lock()
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None

    def remaining_s(self) -> float | None:
        """What is left of the call's time limit (what the worker gives the tool)."""
        if self.deadline is None:
            return None
        return max(0.001, self.deadline - time.monotonic())

    def frame_item(self) -> tuple[Any, ...]:
        """This call's entry in a batch frame."""
        if self.attachments:
            return (self.payload, self.remaining_s(), self.attachments)
        return (self.payload, self.remaining_s())

    def finish(self, value: Any = None, error: BaseException | None = None) -> bool:
        """Settle the call once: the first outcome wins (an answer, or its caller giving up)."""
        with self._lock:
            if self.done:
                return False
            self.done, self.value, self.error = True, value, error
        self.event.set()
        return True


class BatchWatch:
    """The watch a batch in a worker keeps (the batch's :class:`~.calls.CallWatch`).

    Callers settle their own items at their deadline or cancel; the worker is stopped once
    no item of the batch is waiting any more, or when the server stops."""

    __slots__ = ("_kill", "items", "stopping", "where")

    def __init__(
        self,
        where: str,
        items: list[BatchItem],
        stopping: threading.Event,
        *,
        kill: Callable[[], None],
    ) -> None:
        self.where = where
        self.items = items
        self.stopping = stopping
        self._kill = kill

    def slice_s(self) -> float:
        deadlines = [i.deadline for i in self.items if not i.done and i.deadline is not None]
        if not deadlines:
            return SLICE_S
        return max(0.0, min(SLICE_S, min(deadlines) - time.monotonic()))

    def check(self) -> None:
        if self.stopping.is_set():
            self._kill()
            raise WorkerLost(ErrorCode.CANCELLED, "call cancelled: the server is shutting down")
        if all(item.done for item in self.items):
            self._kill()
            timed_out = [i for i in self.items if isinstance(i.error, VisorError)
                         and i.error.code is ErrorCode.TIMEOUT]  # fmt: skip
            if timed_out:
                raise WorkerLost(
                    ErrorCode.TIMEOUT,
                    f"a batch of tool {self.where} outlived the time limits of all its calls; "
                    "the worker was stopped",
                )
            raise WorkerLost(ErrorCode.CANCELLED, "call cancelled: the caller cancelled")


RunBatch = Callable[[list[BatchItem]], None]


class Batcher:
    """One batching tool's queue and dispatchers in one plugin's pool."""

    def __init__(
        self,
        where: str,
        policy: Batching,
        *,
        dispatchers: int,
        run: RunBatch,
        release: Callable[[], None],
    ) -> None:
        self.where = where
        self.policy = policy
        self._dispatchers = max(1, dispatchers)
        self._run = run
        self._release = release  # gives back one admission slot
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[float, BatchItem]] = collections.deque()
        self._threads: list[threading.Thread] = []
        self._running = 0  # batches in a worker now
        self._closed: VisorError | None = None
        self.sizes: collections.Counter[int] = collections.Counter()

    # -- the caller's side ------------------------------------------------------------------

    def submit(self, call: ToolCall) -> Any:
        """Run one admitted call in a batch and return its result (or raise its error).
        The batcher gives the call's admission slot back, whatever happens."""
        item = BatchItem(call)
        with self._cond:
            if self._closed is not None:
                closed = self._closed
            else:
                closed = None
                self._queue.append((time.monotonic(), item))
                if len(self._threads) < self._dispatchers:
                    self._start_dispatcher()
                self._cond.notify()
        if closed is not None:
            self._release()
            raise closed
        return self._wait(item, call)

    def _wait(self, item: BatchItem, call: ToolCall) -> Any:
        cancel = item.cancel
        subscribe = getattr(cancel, "subscribe", None)
        remove = subscribe(item.event.set) if subscribe is not None else None
        try:
            while not item.done:
                if cancel.is_set():
                    item.finish(error=VisorError("call was cancelled", code=ErrorCode.CANCELLED))
                    break
                remaining = None if item.deadline is None else item.deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    item.finish(error=_timeout(self.where, call.timeout_s))
                    break
                if remove is None:
                    remaining = (
                        _CANCEL_CHECK_S if remaining is None else min(remaining, _CANCEL_CHECK_S)
                    )
                item.event.wait(remaining)
                if not item.done:
                    item.event.clear()
        finally:
            if remove is not None:
                remove()
        if item.error is not None:
            raise item.error
        return item.value

    # -- the dispatchers --------------------------------------------------------------------

    def _start_dispatcher(self) -> None:
        thread = threading.Thread(
            target=self._dispatch, name=f"visor-batch-{self.where}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _dispatch(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._run(batch)
            except VisorError as exc:
                for item in batch:
                    item.finish(error=exc)
            except BaseException as exc:  # a bug of ours: every caller gets an internal error
                error = VisorError(f"batch failed: {type(exc).__name__}", code=ErrorCode.INTERNAL)
                error.__cause__ = exc
                for item in batch:
                    item.finish(error=error)
            finally:
                for item in batch:
                    if not item.done:  # the runner settles every item; this is a safety net
                        item.finish(error=VisorError("no reply", code=ErrorCode.INTERNAL))
                    self._release()
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def _next_batch(self) -> list[BatchItem] | None:
        """Wait for calls; gather up to ``max_size`` of them for up to ``max_delay`` while
        another batch is running (a lone call goes at once); None once closed and empty."""
        size, delay = self.policy.max_size, self.policy.max_delay_s
        with self._cond:
            while True:
                while not self._queue and self._closed is None:
                    self._cond.wait()
                if not self._queue:
                    return None
                if self._running and delay > 0:
                    until = self._queue[0][0] + delay
                    while len(self._queue) < size and self._closed is None:
                        remaining = until - time.monotonic()
                        if remaining <= 0:
                            break
                        self._cond.wait(remaining)
                batch: list[BatchItem] = []
                while self._queue and len(batch) < size:
                    _, item = self._queue.popleft()
                    if item.done:  # its caller gave up while it waited: the slot goes back
                        self._release()
                    else:
                        batch.append(item)
                if batch:
                    self._running += 1
                    self.sizes[len(batch)] += 1
                    if self._queue:
                        self._cond.notify()  # another dispatcher may take the rest
                    return batch

    # -- closing ----------------------------------------------------------------------------

    def close(self, error: VisorError) -> None:
        """Refuse new calls; calls still queued get ``error``; dispatchers end."""
        with self._cond:
            self._closed = error
            queued = [item for _, item in self._queue]
            self._queue.clear()
            self._cond.notify_all()
        for item in queued:
            item.finish(error=error)
            self._release()

    def stats(self) -> dict[int, int]:
        with self._cond:
            return dict(self.sizes)


def _timeout(where: str, timeout_s: float | None) -> VisorError:
    return VisorError(
        f"tool {where} exceeded its {timeout_s:g}s time limit",
        code=ErrorCode.TIMEOUT,
        details={"timeout_s": timeout_s},
    )
