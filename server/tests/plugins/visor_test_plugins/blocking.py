"""A one-worker, process-isolated plugin whose tool blocks until its worker is killed.

Cancellation tests need to know that a call really reached the worker: ``block`` writes
its worker's pid to a marker file the test names, then sleeps, ignoring ``ctx.cancelled``
— only killing the worker stops it. Loaded with ``source_for_class`` (no entry point).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel

from app.plugins.base import Plugin, tool


class BlockInput(BaseModel):
    marker: str


class BlockingPlugin(Plugin):
    name = "blocking"
    version = "1.0.0"
    description = "Blocks its only worker until the worker is killed."
    isolation = "process"
    workers = 1

    @tool(default=True, description="Report the worker's process id.")
    def pid(self) -> dict:
        return {"pid": os.getpid()}

    @tool(description="Write the worker pid to `marker`, then sleep for an hour.")
    def block(self, args: BlockInput) -> dict:
        Path(args.marker).write_text(str(os.getpid()))
        time.sleep(3600)
        return {"pid": os.getpid()}
