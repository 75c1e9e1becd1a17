"""Connecting this server to Ray: start a private local Ray, or join a running cluster.

``address`` empty starts a new single-node Ray owned by this server (stopped with it).
``"auto"`` joins the Ray started with ``ray start`` on this machine; ``"host:6379"`` joins
a remote cluster through its GCS (``"ray://host:10001"``, the Ray Client, is passed through
to Ray as well, untested). If the process is already connected (a test
session, an embedding application), that connection is used and left alone at shutdown.

Plugin actors are not detached: they belong to this server's driver, so when the server
dies — even by ``kill -9`` — Ray stops its actors. No orphaned work is left on the cluster.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import ray

log = logging.getLogger("visor.runtime.ray")


def connect(address: str = "", *, num_cpus: int | None = None, **init_kwargs: Any) -> bool:
    """Make sure this process is a Ray driver; True if this call connected it."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,  # actor output stays in Ray's log files, not our console
        "logging_level": logging.WARNING,
        **init_kwargs,
    }
    if not address:
        kwargs.setdefault("num_cpus", num_cpus)
        ray.init(address="local", **kwargs)
        log.info("started a local Ray for this server (%s)", _resources())
    else:
        ray.init(address=address, **kwargs)
        log.info("joined the Ray cluster at %s (%s)", address, _resources())
    return True


def disconnect() -> None:
    """Leave Ray (a local Ray this process started stops with it)."""
    if ray.is_initialized():
        ray.shutdown()


def local_import_path() -> tuple[str, ...]:
    """This process's import path, for actors on a private local Ray: they then import
    plugins that live outside site-packages (a checkout, a test directory) as we do."""
    return tuple(dict.fromkeys(p for p in sys.path if p and os.path.isdir(p)))


def _resources() -> str:
    total = ray.cluster_resources()
    cpus, gpus = total.get("CPU", 0), total.get("GPU", 0)
    return f"{len(ray.nodes())} node(s), {cpus:g} CPU, {gpus:g} GPU"
