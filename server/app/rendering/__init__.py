"""Rendered output: a tool's findings drawn over its input image, as a PNG.

One renderer for every tool. It reads the shared result vocabulary (docs/plugins.md) —
``box`` as ``[x, y, w, h]`` and ``polygon`` as a list of ``[x, y]`` points, in original
image pixels — wherever it appears in a result, so a new plugin that reports its findings
that way is drawable without a line of rendering code. Rendering runs in the service
layer after ToolRunner has returned a valid result, never inside it.
"""
