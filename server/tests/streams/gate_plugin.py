"""A plugin whose image tool waits at a gate the test opens, so a test can hold one frame
in flight while it sends more (stands in for a plugin author's slow tool)."""

from __future__ import annotations

import queue
import threading

from pydantic import BaseModel

from app.plugins.base import ImageInput, Plugin, tool
from app.plugins.images import load_image

#: Widths of the images the tool was entered with, in order.
ENTERED: queue.Queue[int] = queue.Queue()
#: Set by the test to let calls finish.
OPEN = threading.Event()


class Size(BaseModel):
    width: int
    height: int


class GatePlugin(Plugin):
    name = "gate"
    version = "1.0.0"
    description = "Reports an image's size once the test opens the gate."
    isolation = "in_process"
    workers = 2

    @tool(default=True, description="The image's width and height, after the gate opens.")
    def measure(self, args: ImageInput) -> Size:
        image = load_image(args)
        ENTERED.put(image.width)
        if not OPEN.wait(timeout=30):
            raise RuntimeError("the test never opened the gate")
        return Size(width=image.width, height=image.height)
