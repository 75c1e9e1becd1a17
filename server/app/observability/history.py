"""A short in-memory history of calls per plugin, for the dashboard's charts over time.

Prometheus keeps history for operators who run one; a newcomer opening the dashboard
should still see calls, failures and latency over the last minutes. This is a ring of
fixed-width time buckets per plugin, fed by the PluginRegistry's call observers (like
:mod:`app.observability.metrics`): O(1) per call, a few kilobytes in all, gone on restart.
Counts use the registry's :class:`CallKind`, so the charts agree with every other count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from app.plugins.loader.plugin_registry import CallKind, CallRecord, PluginRegistry

DEFAULT_BUCKET_S = 10
DEFAULT_BUCKETS = 90  # 15 minutes


@dataclass
class _Bucket:
    start: int = -1  # bucket index (epoch seconds // width); -1: never used
    calls: int = 0
    failed: int = 0
    invalid_input: int = 0
    cancelled: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    def reset(self, start: int) -> None:
        self.start, self.calls, self.failed, self.invalid_input, self.cancelled = start, 0, 0, 0, 0
        self.total_ms = self.max_ms = 0.0


class PluginSeries(BaseModel):
    """One plugin's buckets, oldest first; index i covers ``start + i * bucket_s``."""

    calls: list[int]
    failed: list[int] = Field(description="Calls the tool or the server failed.")
    invalid_input: list[int] = Field(description="Calls refused for the caller's input.")
    cancelled: list[int]
    mean_ms: list[float | None] = Field(description="Mean latency; null without calls.")
    max_ms: list[float | None]


class CallHistorySnapshot(BaseModel):
    bucket_s: int = Field(description="Width of one bucket in seconds.")
    start: float = Field(description="Epoch seconds at which the oldest bucket starts.")
    buckets: int
    plugins: dict[str, PluginSeries] = Field(
        description="Plugins with at least one call in the window."
    )


class CallHistory:
    """Per-plugin rings of ``buckets`` time buckets of ``bucket_s`` seconds each."""

    def __init__(
        self,
        plugins: PluginRegistry,
        *,
        bucket_s: int = DEFAULT_BUCKET_S,
        buckets: int = DEFAULT_BUCKETS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._plugins = plugins
        self._width = bucket_s
        self._size = buckets
        self._clock = clock
        self._lock = threading.Lock()
        self._rings: dict[str, list[_Bucket]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self) -> None:
        self._unsubscribe = self._plugins.subscribe(self.observe)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def observe(self, call: CallRecord) -> None:
        if not call.known_plugin:  # client-chosen names never get a series
            return
        index = int(self._clock() // self._width)
        with self._lock:
            ring = self._rings.get(call.plugin)
            if ring is None:
                ring = self._rings[call.plugin] = [_Bucket() for _ in range(self._size)]
            bucket = ring[index % self._size]
            if bucket.start != index:
                bucket.reset(index)
            bucket.calls += 1
            bucket.failed += int(call.kind is CallKind.FAILED)
            bucket.invalid_input += int(call.kind is CallKind.INVALID_INPUT)
            bucket.cancelled += int(call.kind is CallKind.CANCELLED)
            bucket.total_ms += call.elapsed_ms
            bucket.max_ms = max(bucket.max_ms, call.elapsed_ms)

    def snapshot(self) -> CallHistorySnapshot:
        """The window that ends with the current bucket, dense (empty buckets are zeros)."""
        last = int(self._clock() // self._width)
        first = last - self._size + 1
        series: dict[str, PluginSeries] = {}
        with self._lock:
            for name, ring in sorted(self._rings.items()):
                window = [ring[i % self._size] for i in range(first, last + 1)]
                indexes = range(first, last + 1)
                live = [b if b.start == i else None for i, b in zip(indexes, window, strict=True)]
                if not any(b is not None and b.calls for b in live):
                    continue
                series[name] = PluginSeries(
                    calls=[b.calls if b else 0 for b in live],
                    failed=[b.failed if b else 0 for b in live],
                    invalid_input=[b.invalid_input if b else 0 for b in live],
                    cancelled=[b.cancelled if b else 0 for b in live],
                    mean_ms=[
                        round(b.total_ms / b.calls, 3) if b and b.calls else None for b in live
                    ],
                    max_ms=[round(b.max_ms, 3) if b and b.calls else None for b in live],
                )
        return CallHistorySnapshot(
            bucket_s=self._width, start=first * self._width, buckets=self._size, plugins=series
        )
