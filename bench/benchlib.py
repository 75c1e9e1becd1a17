"""What several benchmarks share: the no-op plugin they time, and the timing loop."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from app.plugins.base import Plugin, tool


def noop(args: dict[str, Any]) -> dict[str, Any]:
    """The work both sides of a comparison do: nothing."""
    return {}


class NoopPlugin(Plugin):
    name = "bench_noop"
    version = "1"

    @tool(
        input_schema={"type": "object", "properties": {"n": {"type": "integer"}}},
        output_schema={"type": "object"},
    )
    def noop(self, args: dict) -> dict:
        return noop(args)


#: The operator's choice that runs the no-op in the server process (a plugin cannot ask).
IN_PROCESS = {NoopPlugin.name: "in_process"}


def per_call_us(fn: Callable[[], object], calls: int, batches: int) -> float:
    """Median over ``batches`` of the mean µs per call of ``calls`` back-to-back calls."""
    samples = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples)
