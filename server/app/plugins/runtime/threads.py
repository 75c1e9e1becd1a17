"""DaemonThreads: run plugin code on reusable daemon threads.

In-process tools run on these rather than on the caller's thread so that the caller can
stop waiting at the tool's time limit. A thread stuck in plugin code cannot be killed; as a
daemon it at least never holds up interpreter exit (``concurrent.futures`` pools are joined
at exit, which is why they are not used here). Threads are started on demand and reused;
their number never exceeds the peak of concurrent submissions, which the plugin's
:class:`~app.plugins.runtime.admission.Admission` bounds.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("visor.runtime")


class DaemonThreads:
    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = 0
        self._threads = 0
        self._closed = False

    @property
    def size(self) -> int:
        return self._threads

    def submit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on an idle thread, or a new one. ``fn`` must not raise."""
        with self._lock:
            if self._closed:
                raise RuntimeError("closed")
            if self._idle:
                self._idle -= 1
            else:
                self._threads += 1
                threading.Thread(
                    target=self._serve, name=f"visor-tool-{self._name}", daemon=True
                ).start()
        self._queue.put(fn)

    def close(self) -> None:
        """Idle threads exit; busy ones exit when their function returns."""
        with self._lock:
            self._closed = True
            threads = self._threads
        for _ in range(threads):
            self._queue.put(None)

    def _serve(self) -> None:
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            try:
                fn()
            except BaseException:  # fn handles its own errors; this is a last resort
                log.exception("in-process tool thread failed")
            with self._lock:
                self._idle += 1
