"""Registration checks: a model is loaded and run once in a throwaway process first.

The ONNX file comes from a user, so it is treated like a hostile plugin: it is parsed,
loaded and run on a generated image in a spawned process with a heap cap and a time limit,
whose working directory is empty (an external-data reference resolves to nothing). Every
way that can go wrong becomes :class:`ModelRejected` with a ``details.reason``; nothing
is stored until the check passes, and the server process never parses the file itself.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.errors import ErrorCode, VisorError

_KILL_WAIT_S = 5.0


class ModelRejected(VisorError):
    """A model that cannot be registered; ``details.reason`` says which check failed."""

    code = ErrorCode.INVALID_INPUT

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(message, details={"reason": reason, **details})
        self.reason = reason


def check_model(
    model_file: Path,
    manifest_json: str,
    *,
    providers: Sequence[str],
    memory_limit_mb: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Load and run the model in a child process; what it saw, or :class:`ModelRejected`."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_check_in_child,
        args=(str(model_file), manifest_json, list(providers), memory_limit_mb, sender),
        name="visor-model-check",
        daemon=True,
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise ModelRejected(
                "timeout",
                f"loading and running the model took longer than {timeout_s:g}s",
                timeout_s=timeout_s,
            )
        try:
            verdict, payload = receiver.recv()
        except EOFError:
            process.join(_KILL_WAIT_S)
            raise ModelRejected(
                "crashed",
                "the check process died while loading or running the model "
                f"(exit code {process.exitcode}); the model is refused",
                exit_code=process.exitcode,
            ) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(_KILL_WAIT_S)
    if verdict != "ok":
        extra = {"memory_limit_mb": memory_limit_mb} if verdict == "memory_limit" else {}
        raise ModelRejected(verdict, payload, **extra)
    return dict(payload)


def _classify(exc: BaseException) -> tuple[str, str]:
    """(reason, message) for an exception loading or running a model."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if isinstance(exc, MemoryError) or "bad_alloc" in lowered or "allocate" in lowered:
        return "memory_limit", "the model needs more memory than the check allows"
    if "protobuf parsing failed" in lowered or "invalid_protobuf" in lowered:
        return "not_onnx", "the file is not an ONNX model (or it is truncated)"
    if "external data" in lowered:
        return (
            "external_data",
            "the model refers to external data files; a model must be one self-contained "
            ".onnx file",
        )
    if "is not a registered function/op" in lowered or "no opset import for domain" in lowered:
        return "unsupported_op", f"the model uses an operator onnxruntime does not have: {text}"
    return "load_failed", f"onnxruntime cannot load or run the model: {text}"


def _check_in_child(
    path: str, manifest_json: str, providers: list[str], memory_limit_mb: int, conn: Connection
) -> None:
    """The child: quiet, capped, in an empty directory; sends ``(verdict, payload)``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.chdir(tempfile.mkdtemp(prefix="visor-model-check-"))
    from app.inference.errors import ModelMismatch, ProviderUnavailable
    from app.models.manifest import Manifest
    from app.models.runtime import LoadedModel, smoke_image
    from app.plugins.runtime.process.memory import cap_heap

    try:
        data = Path(path).read_bytes()
        manifest = Manifest.model_validate_json(manifest_json)
        cap_heap(memory_limit_mb)
        loaded = LoadedModel(manifest, data, threads=1, providers=providers)
        decoded = loaded.infer(smoke_image())
        first = loaded.session.get_inputs()[0]
        report = {
            "input": {"name": first.name, "shape": [str(d) for d in first.shape]},
            "outputs": [
                {"name": o.name, "shape": [str(d) for d in o.shape]}
                for o in loaded.session.get_outputs()
            ],
            "smoke_results": len(decoded.detections) + len(decoded.classes),
        }
        conn.send(("ok", report))
    except ModelMismatch as exc:
        conn.send(("shape_mismatch", f"the model does not fit its manifest: {exc.message}"))
    except ProviderUnavailable as exc:
        conn.send(("provider_unavailable", exc.message))
    except BaseException as exc:
        conn.send(_classify(exc))
    finally:
        conn.close()
