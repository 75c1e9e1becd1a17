"""A plugin whose tool declares batching, for the dynamic-batching tests.

Module level so a worker process can import it by ``module:Class``. ``hold`` keeps a call
in the worker until a file appears, so a test can line calls up behind it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from app.plugins.base import Batching, ImageInput, Plugin, ToolContext, tool
from app.plugins.images import load_image

_INPUT = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "fail": {"type": "boolean"},
        "hold": {"type": "string"},
    },
    "required": ["n"],
    "additionalProperties": False,
}
_OUTPUT = {
    "type": "object",
    "properties": {"value": {"type": "integer"}, "pid": {"type": "integer"}},
    "required": ["value", "pid"],
}


def _answer(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    hold = args.get("hold")
    while hold and not os.path.exists(hold) and not ctx.cancelled:
        time.sleep(0.01)
    if args.get("fail"):
        raise ValueError(f"asked to fail on {args['n']}")
    return {"value": args["n"] * 2, "pid": os.getpid()}


class BatchyPlugin(Plugin):
    name = "batchy"
    version = "1.0.0"
    workers = 1

    @tool(
        input_schema=_INPUT,
        output_schema=_OUTPUT,
        batch=Batching(max_size=8, max_delay_ms=1000, handler="double_many"),
    )
    def double(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return _answer(args, ctx)

    def double_many(self, batch: list[dict[str, Any]], ctxs: list[ToolContext]) -> list[Any]:
        answers: list[Any] = []
        for args, ctx in zip(batch, ctxs, strict=True):
            try:
                answers.append(_answer(args, ctx))
            except ValueError as exc:  # that call's own failure
                answers.append(exc)
        return answers

    @tool(input_schema=_INPUT, output_schema=_OUTPUT, batch=Batching(max_size=4))
    def plain(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """Batching without a batch handler: the worker runs each call on its own."""
        return _answer(args, ctx)


class SizeInput(ImageInput):
    hold: str | None = None


class MeasurePlugin(Plugin):
    """Says how big its image is; takes decoded pixels (``pixels=True``) and batches."""

    name = "measure"
    version = "1.0.0"
    workers = 1

    @tool(
        batch=Batching(max_size=8, max_delay_ms=1000, handler="size_many"),
        pixels=True,
    )
    def size(self, args: SizeInput, ctx: ToolContext) -> dict[str, Any]:
        hold = args.hold
        while hold and not os.path.exists(hold) and not ctx.cancelled:
            time.sleep(0.01)
        image = load_image(args)
        return {"width": image.width, "height": image.height, "first": list(image.getpixel((0, 0)))}

    def size_many(self, batch: list[SizeInput], ctxs: list[ToolContext]) -> list[Any]:
        return [self.size(args, ctx) for args, ctx in zip(batch, ctxs, strict=True)]
