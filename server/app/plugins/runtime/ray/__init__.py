"""Ray execution: each plugin's tools run in a pool of Ray actors, on one machine or a cluster.

Module map: :mod:`.executor` (the Executor seam), :mod:`.pool` (one plugin's actors — the
local worker pool with actors for workers), :mod:`.handle` (one actor, server side),
:mod:`.actor` (the actor itself), :mod:`.cluster` (joining or starting Ray),
:mod:`.config` (settings → per-plugin actor options). Importing this package imports Ray:
the executor factory does so only when ``VISOR_EXECUTOR=ray``.
"""

from app.plugins.runtime.ray.config import RayOptions
from app.plugins.runtime.ray.executor import RayExecutor

__all__ = ["RayExecutor", "RayOptions"]
