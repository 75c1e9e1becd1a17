"""Process isolation: each plugin's tools run in a pool of supervised worker processes.

Module map: :mod:`.executor` (the Executor seam), :mod:`.pool` (one plugin's workers,
queue and circuit), :mod:`.handle` (one worker, server side), :mod:`.worker` (the worker
process itself), :mod:`.ipc.protocol` (the frames on the pipe), :mod:`.output` (worker
stdout/stderr to the log), :mod:`.circuit` (the breaker), :mod:`.config` (settings).
"""

from app.plugins.runtime.process.config import ProcessOptions
from app.plugins.runtime.process.executor import ProcessExecutor

__all__ = ["ProcessExecutor", "ProcessOptions"]
