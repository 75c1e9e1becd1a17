"""CPU per call of the worker path: a built-in tool through ToolRunner in a worker process
vs the same tool called directly, in this process (issue 15's "the worker path's cost grows
with the payload").

Run: ``python bench/worker_path.py [--calls 200] [--rounds 3]``. For image_info and barcode,
on a tiny PNG and a photo-sized JPEG (bench/peers.py's images), alternating in rounds:

- baseline: the tool's handler called directly (decode base64, run, return), as a bare
  endpoint would;
- isolated: ``ToolRunner.run`` with the default process executor (resolve and check the
  input, cross the pipe, run in the worker, check the output).

Sequential calls, so the numbers are CPU, not waiting: it prints CPU milliseconds per call
— this process plus its worker processes — and the ratio isolated ÷ baseline (medians over
rounds). CPU time moves less with outside load than wall time, so this is the benchmark to
compare checkouts on a busy machine: ``PYTHONPATH=<other checkout>/server python
bench/worker_path.py``.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from collections.abc import Callable
from typing import Any

import psutil

from app.plugins.base import ToolContext, normalise_output
from app.plugins.builtin.barcode.plugin import BarcodePlugin
from app.plugins.builtin.image_info import ImageInfoPlugin
from app.plugins.loader.plugin_loader import load_plugins, source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.tool_runner import ToolRunner
from peers import images

TOOLS: dict[str, tuple[Any, str]] = {
    "image_info": (ImageInfoPlugin, "describe"),
    "barcode": (BarcodePlugin, "read"),
}


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _tree() -> list[int]:
    me = psutil.Process()
    return [me.pid, *(c.pid for c in me.children(recursive=True))]


def _cpu_ms_per_call(fn: Callable[[], object], calls: int) -> float:
    pids = _tree()
    before = _cpu(pids)
    for _ in range(calls):
        fn()
    return (_cpu(pids) - before) / calls * 1000.0


def _runner(executor: ProcessExecutor) -> ToolRunner:
    registry = PluginRegistry()
    registry.replace_all(load_plugins([source_for_class(cls) for cls, _ in TOOLS.values()]))
    for name in TOOLS:
        record = registry.get(name)
        assert record is not None
        executor.start_plugin(record)
        registry.transition(name, PluginState.INITIALIZED)
    return ToolRunner(registry=registry, executor=executor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()

    pictures = {k: base64.b64encode(v).decode() for k, v in images().items()}
    mimes = {"tiny": "image/png", "photo": "image/jpeg"}
    executor = ProcessExecutor(ProcessOptions(workers={name: 1 for name in TOOLS}))
    results: dict[tuple[str, str, str], list[float]] = {}
    try:
        runner = _runner(executor)
        for plugin, (cls, tool) in TOOLS.items():
            instance = cls()
            instance.startup()
            spec = cls.tool_specs()[tool]
            for size, text in pictures.items():
                payload = {"image": text, "mime_type": mimes[size]}
                calls = opts.calls if size == "tiny" else max(10, opts.calls // 10)

                def direct(
                    instance: Any = instance, spec: Any = spec, payload: dict[str, Any] = payload
                ) -> object:
                    ctx = ToolContext(plugin=spec.name, tool=spec.name)
                    return normalise_output(spec.bind(instance, dict(payload), ctx))

                def isolated(
                    plugin: str = plugin, tool: str = tool, payload: dict[str, Any] = payload
                ) -> object:
                    result, error = runner.run(plugin, dict(payload), tool)
                    assert not error, error
                    return result

                for fn in (direct, isolated):  # warm up
                    for _ in range(max(5, calls // 10)):
                        fn()
                for round_no in range(opts.rounds):
                    order = [("baseline", direct), ("isolated", isolated)]
                    if round_no % 2:
                        order.reverse()
                    for name, fn in order:
                        ms = _cpu_ms_per_call(fn, calls)
                        results.setdefault((plugin, size, name), []).append(ms)
                time.sleep(0)
    finally:
        executor.shutdown(2)

    print("CPU ms per call (this process + workers), medians over rounds")
    print(f"{'tool':<11}{'image':<7}{'baseline':>10}{'isolated':>10}{'ratio':>8}")
    for plugin in TOOLS:
        for size in pictures:
            base = statistics.median(results[(plugin, size, "baseline")])
            iso = statistics.median(results[(plugin, size, "isolated")])
            print(f"{plugin:<11}{size:<7}{base:10.3f}{iso:10.3f}{iso / base:8.2f}")


if __name__ == "__main__":
    main()
