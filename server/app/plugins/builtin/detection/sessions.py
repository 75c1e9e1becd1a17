"""The onnxruntime sessions of the built-in detectors, sized to the worker count.

A built-in runs in its plugin's worker processes; each worker opens its own sessions in
the plugin's startup hook. The intra-op threads per session follow
:func:`app.inference.session.configured_threads`: the cores divided by the plugin's workers
(``VISOR_ONNX_THREADS`` overrides), so workers x threads never oversubscribes the cores.
The worker count is resolved with the same precedence as the worker pool's (the operator's
per-plugin setting, the plugin's own preference, the server default, the CPU count), from
the environment the worker inherited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.inference.session import configured_threads, open_session
from app.plugins.runtime.process.config import auto_workers
from app.settings import Settings


def worker_count(plugin: str, preferred: int | None = None) -> int:
    """How many worker processes ``plugin`` may run at once, as its pool resolves it."""
    settings = Settings()
    workers = settings.plugin_workers.get(plugin) or preferred or settings.workers_per_plugin
    return max(1, workers or auto_workers())


def open_model(path: Path, *, plugin: str, preferred_workers: int | None = None) -> Any:
    """An onnxruntime session for ``path`` with this worker's share of the cores and the
    configured execution providers (``VISOR_ONNX_PROVIDERS``)."""
    settings = Settings()
    threads = configured_threads(settings, worker_count(plugin, preferred_workers))
    return open_session(path, threads=threads, providers=settings.onnx_providers)
