"""Governance overhead of ToolRunner.run on a no-op tool vs calling the handler directly.

Run: ``python bench/overhead.py``. Prints µs per call (median of repeated batches) for
both, their difference (the governance overhead: resolve, validate in and out, execute
through the in-process executor, metrics) and the ratio. Target: ≤ 20 µs overhead.
"""

from __future__ import annotations

import argparse

from app.plugins.loader.plugin_loader import load_plugins, source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry
from app.plugins.runtime.in_process import InProcessExecutor
from app.plugins.runtime.tool_runner import ToolRunner
from benchlib import NoopPlugin, per_call_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=15)
    opts = parser.parse_args()

    registry = PluginRegistry()
    registry.replace_all(load_plugins([source_for_class(NoopPlugin)]))
    executor = InProcessExecutor()
    runner = ToolRunner(registry=registry, executor=executor)
    payload = {"n": 1}
    instance = NoopPlugin()

    result, error = runner.run("bench_noop", payload)
    assert (result, error) == ({}, {}), error

    for _ in range(3000):  # warm up caches and the pool's thread
        runner.run("bench_noop", payload)
    direct = per_call_us(lambda: instance.noop(payload), opts.calls, opts.batches)
    governed = per_call_us(lambda: runner.run("bench_noop", payload), opts.calls, opts.batches)
    executor.shutdown(1)

    overhead = governed - direct
    print(f"direct handler call      : {direct:8.2f} µs/call")
    print(f"ToolRunner.run (governed): {governed:8.2f} µs/call")
    print(f"governance overhead      : {overhead:8.2f} µs/call (target ≤ 20 µs)")
    print(f"ratio governed/direct    : {governed / direct:8.1f}x")
    health = registry.health("bench_noop")
    assert health is not None
    print(f"calls recorded           : {health.success_count} (errors {health.error_count})")


if __name__ == "__main__":
    main()
