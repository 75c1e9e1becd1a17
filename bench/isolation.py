"""Process isolation: added latency of a no-op call, and CPU-bound throughput per worker.

Run: ``python bench/isolation.py``. In one run, against baselines taken in the same run:

* no-op latency: median µs per ``ToolRunner.run`` of a no-op tool in a worker process vs
  the same tool in-process; the difference is what isolation adds (target ≤ 0.5 ms).
* CPU-bound throughput: calls/s of a pure-Python tool with 2 workers vs 1 worker, driven
  by 4 client threads (target ≥ 1.7x on a 2-core machine).
* how far past its limit a hung tool is stopped, and how soon a crashed worker's plugin
  serves again (informational).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

from app.plugins.base import Plugin, tool
from app.plugins.loader.plugin_loader import load_plugins, source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.executor import Executor
from app.plugins.runtime.in_process import InProcessExecutor
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.tool_runner import ToolRunner
from benchlib import calls_per_second, per_call_us


class BenchIsolation(Plugin):
    """Workers import this class back from ``__main__`` (spawn re-runs this file's imports)."""

    name = "bench_isolation"
    version = "1"

    @tool(input_schema={"type": "object"}, output_schema={"type": "object"})
    def noop(self, args: dict) -> dict:
        return {}

    @tool(input_schema={"type": "object"}, output_schema={"type": "object"})
    def burn(self, args: dict) -> dict:
        total = 0
        for i in range(int(args.get("n", 300_000))):
            total += i * i
        return {"total": total}

    @tool(input_schema={"type": "object"}, output_schema={"type": "object"})
    def hang(self, args: dict) -> dict:
        time.sleep(3600)
        return {}

    @tool(input_schema={"type": "object"}, output_schema={"type": "object"})
    def crash(self, args: dict) -> dict:
        os._exit(1)


def _runner(executor: Executor, timeout_s: float = 60.0) -> ToolRunner:
    registry = PluginRegistry()
    registry.replace_all(load_plugins([source_for_class(BenchIsolation)]))
    record = registry.get(BenchIsolation.name)
    assert record is not None
    executor.start_plugin(record)
    registry.transition(record.name, PluginState.INITIALIZED)
    return ToolRunner(registry=registry, executor=executor, default_timeout_s=timeout_s)


def _throughput(runner: ToolRunner, n: int, clients: int, calls: int) -> float:
    """Calls per second with ``clients`` threads each making ``calls`` burn calls."""

    def burn() -> None:
        _, error = runner.run(BenchIsolation.name, {"n": n}, "burn")
        assert error == {}, error

    return calls_per_second(burn, clients, calls)


def bench_noop(calls: int, batches: int) -> None:
    in_process = InProcessExecutor()
    process = ProcessExecutor(ProcessOptions(workers={BenchIsolation.name: 1}))
    try:
        local, isolated = _runner(in_process), _runner(process)
        for runner in (local, isolated):  # warm up both paths
            for _ in range(200):
                runner.run(BenchIsolation.name, {}, "noop")
        base = per_call_us(lambda: local.run(BenchIsolation.name, {}, "noop"), calls, batches)
        iso = per_call_us(lambda: isolated.run(BenchIsolation.name, {}, "noop"), calls, batches)
    finally:
        process.shutdown(2)
        in_process.shutdown(2)
    added_ms = (iso - base) / 1000
    print("no-op call, median of batches")
    print(f"  in-process (baseline)   {base:9.1f} µs/call")
    print(f"  process-isolated        {iso:9.1f} µs/call")
    print(f"  added by isolation      {added_ms:9.3f} ms/call   (target <= 0.5 ms)")
    print(f"  ratio isolated/baseline {iso / base:9.1f}x")


def bench_cpu(n: int, clients: int, calls: int, rounds: int) -> None:
    """Rounds alternate between the two pools, so load from elsewhere hits both alike."""
    executors = {
        w: ProcessExecutor(ProcessOptions(workers={BenchIsolation.name: w})) for w in (1, 2)
    }
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        runners = {w: _runner(executor) for w, executor in executors.items()}
        for runner in runners.values():
            _throughput(runner, n, clients, 2)  # warm-up
        for _ in range(rounds):
            for workers, runner in runners.items():
                rates[workers].append(_throughput(runner, n, clients, calls))
    finally:
        for executor in executors.values():
            executor.shutdown(2)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    best_one, best_two = max(rates[1]), max(rates[2])
    cores = os.cpu_count()
    print(f"CPU-bound tool (n={n}), {clients} client threads, {rounds} alternating rounds")
    print(f"  1 worker (baseline)     {one:9.1f} calls/s median, {best_one:7.1f} best")
    print(f"  2 workers               {two:9.1f} calls/s median, {best_two:7.1f} best")
    print(f"  speed-up 2 vs 1 worker  {two / one:9.2f}x median, {best_two / best_one:6.2f}x best")
    print(f"  (target >= 1.7x on {cores} cores; other load on the machine lowers the median)")


def bench_failures(limit_s: float, rounds: int) -> None:
    executor = ProcessExecutor(ProcessOptions(circuit_failures=1000))
    try:
        runner = _runner(executor, timeout_s=limit_s)
        overshoot, recovery = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            _, error = runner.run(BenchIsolation.name, {}, "hang")
            assert error["error"]["details"]["code"] == "timeout", error
            overshoot.append((time.perf_counter() - started - limit_s) * 1000)
            started = time.perf_counter()
            _, error = runner.run(BenchIsolation.name, {}, "crash")
            assert error["error"]["details"]["code"] == "worker_crashed", error
            _, error = runner.run(BenchIsolation.name, {}, "noop")
            assert error == {}, error
            recovery.append((time.perf_counter() - started) * 1000)
    finally:
        executor.shutdown(2)
    late_ms, back_ms = statistics.median(overshoot), statistics.median(recovery)
    print(f"failures, median of {rounds}")
    print(f"  hung tool stopped after its {limit_s:g}s limit + {late_ms:.0f} ms")
    print(f"  crash -> next successful call (worker respawn) {back_ms:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--burn-n", type=int, default=300_000)
    parser.add_argument("--burn-calls", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    logging.getLogger("visor").setLevel(logging.CRITICAL)  # the failures below are on purpose
    bench_noop(opts.calls, opts.batches)
    bench_cpu(opts.burn_n, clients=4, calls=opts.burn_calls, rounds=opts.rounds)
    bench_failures(limit_s=0.5, rounds=opts.rounds)


if __name__ == "__main__":
    main()
