"""onnxruntime sessions sized to Visor's worker processes.

Visor runs a model in several worker processes at once (``VISOR_PLUGIN_WORKERS`` /
``VISOR_WORKERS_PER_PLUGIN``), and onnxruntime by default gives every session one
intra-op thread per core. N workers on C cores would then run N x C busy threads on C
cores: each call is slower than with fewer threads (context switches, cache thrash) and
throughput falls instead of rising. :func:`threads_per_worker` divides the cores among
the workers instead, so workers x threads never exceeds the cores.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import onnxruntime as ort

from app.inference.errors import ProviderUnavailable
from app.settings import Settings

DEFAULT_PROVIDERS: tuple[str, ...] = ("CPUExecutionProvider",)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Intra-op threads per session so that ``workers x threads <= cores`` (at least 1).

    Inter-op parallelism stays at 1 (see :func:`open_session`): the small vision graphs
    Visor serves are chains of convolutions with little branch parallelism, and a second
    pool would add threads beyond the budget. Parallelism across calls comes from the
    worker processes, parallelism inside one call from these intra-op threads; with more
    workers than cores each worker gets one thread and the workers share the cores.
    """
    cores = available_cores() if cores is None else max(1, cores)
    return max(1, cores // max(1, workers))


def configured_threads(settings: Settings, workers: int) -> int:
    """``VISOR_ONNX_THREADS`` when set, else :func:`threads_per_worker` for ``workers``."""
    if settings.onnx_threads is not None:
        return settings.onnx_threads
    return threads_per_worker(workers)


def check_providers(providers: Sequence[str]) -> list[str]:
    """The providers, if this onnxruntime build has every one; else a clear error."""
    available = ort.get_available_providers()
    missing = [name for name in providers if name not in available]
    if missing or not providers:
        raise ProviderUnavailable(
            f"onnxruntime execution provider(s) {', '.join(missing) or '(none given)'} "
            f"not available in this onnxruntime build; available: {', '.join(available)}. "
            "Install the matching onnxruntime package (e.g. onnxruntime-gpu for CUDA) or "
            "change VISOR_ONNX_PROVIDERS.",
            details={"missing": missing, "available": list(available)},
        )
    return list(providers)


def session_options(threads: int) -> ort.SessionOptions:
    """Options for one worker's session: ``threads`` intra-op, 1 inter-op, no spinning.

    ``allow_spinning=0``: by default onnxruntime's pool threads busy-wait after each run
    for the next one; with several idle workers that burns the cores the busy workers
    need (measured in docs/models.md). Graph optimisations are all on.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: warnings would reach the console
    return options


def open_session(
    model: pathlib.Path | bytes,
    *,
    threads: int,
    providers: Sequence[str] = DEFAULT_PROVIDERS,
) -> ort.InferenceSession:
    """An inference session for an ONNX file or its bytes, sized and tuned as above.

    Raises :class:`ProviderUnavailable` naming the available providers when one asked
    for is missing; onnxruntime's own errors (an invalid model) propagate for the
    caller to classify.
    """
    chosen = check_providers(providers)
    source: str | bytes = str(model) if isinstance(model, pathlib.Path) else model
    return ort.InferenceSession(source, sess_options=session_options(threads), providers=chosen)
