"""A plugin that "finds" shapes at fixed places, in the shared result vocabulary.

Rendering tests need findings whose pixels they know: ``find`` reports a box and a
polygon inside the image it was given (``box`` as ``[x, y, w, h]``, ``polygon`` as
``[[x, y], ...]``). ``flood`` returns as many bytes as it is asked for, for result-limit
tests. Loaded with ``source_for_class`` (no entry point).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.plugins.base import ImageInput, Plugin, tool
from app.plugins.images import load_image


class Finding(BaseModel):
    label: str
    box: list[int] | None = Field(None, description="[x, y, w, h] in pixels.")
    polygon: list[list[int]] | None = Field(None, description="[[x, y], ...] in pixels.")


class FindOutput(BaseModel):
    findings: list[Finding]
    width: int
    height: int


class FloodInput(BaseModel):
    n: int = Field(ge=0, le=10_000_000)


class FinderPlugin(Plugin):
    name = "finder"
    version = "1.0.0"
    description = "Finds a box and a triangle at fixed places (for rendering tests)."
    isolation = "in_process"

    @tool(default=True, title="Find shapes", description="Find a box and a triangle.")
    def find(self, args: ImageInput) -> FindOutput:
        image = load_image(args)
        w, h = image.size
        box = Finding(label="box", box=[w // 10, h // 10, w // 4, h // 4])
        triangle = Finding(
            label="triangle", polygon=[[w // 2, h // 2], [w - 5, h // 2], [w - 5, h - 5]]
        )
        return FindOutput(findings=[box, triangle], width=w, height=h)

    @tool(description="Return a text of n characters.", idempotent=True)
    def flood(self, args: FloodInput) -> dict:
        return {"text": "x" * args.n}
