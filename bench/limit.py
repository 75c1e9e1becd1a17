"""The limit: a tool's own work called directly in N plain processes, no server, no HTTP.

What the peers benchmarks hold Visor (and the bare FastAPI endpoint) against since issue 23:
the same handler code, fed the same request body (base64 and all: the work any web server
must do with it), in as many processes as the server has workers, all started together and
measured over the same window. ``calls_per_second`` returns the summed rate and the CPU
seconds per call; it spawns its processes (never forks a loaded parent).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

_PLUGINS = {
    "image_info": ("app.plugins.builtin.image_info", "ImageInfoPlugin"),
    "barcode": ("app.plugins.builtin.barcode.plugin", "BarcodePlugin"),
}


def _loop(
    plugin: str, tool: str, body: dict[str, Any], seconds: float, ready: Any, out: Any
) -> None:
    import importlib

    from app.plugins.base import ToolContext, normalise_output
    from app.plugins.runtime.process.memory import keep_freed_memory

    keep_freed_memory()  # as a Visor worker does: a call's buffers stay for the next one
    module, name = _PLUGINS[plugin]
    cls = getattr(importlib.import_module(module), name)
    instance = cls()
    instance.startup()
    spec = cls.tool_specs()[tool]

    def call() -> None:
        ctx = ToolContext(plugin=plugin, tool=tool)
        normalise_output(spec.bind(instance, dict(body), ctx))

    for _ in range(5):
        call()
    ready.wait()  # every process warmed up before any of them measures
    count = 0
    cpu = time.process_time()
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        count += 1
    out.put((count, time.perf_counter() - started, time.process_time() - cpu))


def calls_per_second(
    plugin: str, tool: str, body: dict[str, Any], *, processes: int, seconds: float
) -> tuple[float, float]:
    """(calls/s summed over ``processes``, CPU seconds per call) of the tool called directly."""
    context = mp.get_context("spawn")
    ready = context.Barrier(processes)
    out = context.Queue()
    workers = [
        context.Process(target=_loop, args=(plugin, tool, body, seconds, ready, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=seconds + 180) for _ in workers]
    for worker in workers:
        worker.join()
    rate = sum(count / elapsed for count, elapsed, _ in results)
    calls = sum(count for count, _, _ in results)
    cpu = sum(spent for _, _, spent in results)
    return rate, (cpu / calls if calls else float("nan"))
