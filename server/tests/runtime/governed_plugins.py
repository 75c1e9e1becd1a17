"""Plugins for the governance tests: one that tries to opt out of isolation, one that hangs.

Module level so a worker process can import them by ``module:Class``.
"""

from __future__ import annotations

import os
import threading

from app.plugins.base import Plugin, tool

#: Set by a test to let the stuck tool return (in-process runs share this process).
RELEASE = threading.Event()


class OptsOutPlugin(Plugin):
    name = "opts_out"
    version = "1.0.0"
    isolation = "in_process"  # what issue 10 found enough to escape isolation: now ignored

    @tool
    def where(self) -> dict:
        return {"pid": os.getpid()}


class StuckPlugin(Plugin):
    name = "stuck"
    version = "1.0.0"
    workers = 1

    @tool(timeout_s=0.3)
    def hang(self) -> dict:
        RELEASE.wait()  # ignores ctx.cancelled: the kind of tool a thread cannot stop
        return {"released": True}

    @tool
    def ping(self) -> dict:
        return {"pong": True}
