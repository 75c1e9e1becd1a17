"""How saved pipelines look to MCP: one tool ``pipeline.<name>`` each, with schemas.

Kept free of transport concerns like :mod:`app.mcp.tools`. The input schema is generated
from :class:`~app.pipelines.service.PipelineInput` (the image fields: a pipeline takes only
its image; the steps carry their own args). The output schema is the pipeline result's
shape with every step's output described by its tool's own output schema (a ``for_each``
step: a list of ``{box, result}``), so an agent — and a client that checks
``structuredContent`` — knows what comes back.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types

from app.errors import VisorError
from app.mcp.tools import Limits, Naming
from app.pipelines.plan import Plan, plan
from app.pipelines.service import PIPELINE_JOB_PLUGIN, PipelineInput
from app.pipelines.store import SavedPipeline
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState

#: Pipeline tools are ``pipeline.<name>``: the same name jobs use (plugin ``pipeline``).
PREFIX = PIPELINE_JOB_PLUGIN + "."

_ANY_OBJECT: dict[str, Any] = {"type": "object"}


def is_pipeline_tool(name: str) -> bool:
    """``pipeline.<name>``, or ``pipeline_<name>`` (either separator, as for plugin tools)."""
    return name.startswith((PREFIX, PIPELINE_JOB_PLUGIN + "_")) and len(name) > len(PREFIX)


def pipeline_name(tool_name: str) -> str:
    return tool_name[len(PREFIX) :]


def _input_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for field, info in PipelineInput.model_fields.items():
        prop: dict[str, Any] = {"type": "string"}
        if info.description:
            prop["description"] = info.description
        properties[field] = prop
    properties["mime_type"]["description"] = "Optional: read from the image bytes otherwise."
    return {"type": "object", "properties": properties, "additionalProperties": False}


#: Every pipeline takes the same input: its image (built once; it never changes).
INPUT_SCHEMA: dict[str, Any] = _input_schema()


def list_pipeline_tools(
    saved: list[SavedPipeline],
    registry: PluginRegistry,
    limits: Limits,
    naming: Naming | None = None,
) -> list[types.Tool]:
    """A tool per saved pipeline that can run now: one whose steps all resolve to tools of
    plugins that are not UNAVAILABLE (the rule plugin tools are listed by)."""
    listed = []
    for pipeline in saved:
        try:
            checked = plan(pipeline.spec, registry)
        except VisorError:
            continue  # a plugin it needs is gone: it cannot run, so it is not offered
        if any(_unavailable(registry, step.plugin) for step in checked.steps):
            continue
        listed.append(_tool(pipeline, checked, limits, naming or Naming()))
    return listed


def _unavailable(registry: PluginRegistry, plugin: str) -> bool:
    record = registry.get(plugin)
    return record is None or record.state is PluginState.UNAVAILABLE


def _tool(pipeline: SavedPipeline, checked: Plan, limits: Limits, naming: Naming) -> types.Tool:
    hints = [planned.spec.hints for planned in checked.steps]
    title = f"Pipeline: {pipeline.name}"
    return types.Tool(
        name=naming.name(PIPELINE_JOB_PLUGIN, pipeline.name),
        title=title,
        description=_description(pipeline, checked, limits),
        input_schema=INPUT_SCHEMA,
        output_schema=output_schema(checked),
        annotations=types.ToolAnnotations(
            title=title,
            read_only_hint=all(h.read_only for h in hints),
            idempotent_hint=all(h.idempotent for h in hints),
            open_world_hint=any(h.open_world for h in hints),
        ),
    )


def _description(pipeline: SavedPipeline, checked: Plan, limits: Limits) -> str:
    steps = "; ".join(
        f"{p.step.id} = {p.plugin}.{p.tool}"
        + (f" on each region of {p.step.for_each}" if p.step.for_each else "")
        for p in checked.steps
    )
    parts = [
        pipeline.spec.description,
        f"A Visor pipeline of {len(checked.steps)} steps ({steps}). The result holds every "
        "step's output under 'steps' (a for_each step: a list of {box, crop, result}, every "
        "box, polygon, width and height in the input image's pixels) and its time under "
        "'timings_ms'. A failing step ends the run with its error; details.step names the "
        "step.",
        "Pass the image as 'image' (base64; a data: URL or line-wrapped base64 is fine), or "
        "as 'image_ref' (the id of a file uploaded to POST /v1/files), 'image_url' or "
        "'image_path' where the server allows them. " + limits.describe(),
    ]
    return "\n\n".join(part for part in parts if part)


def output_schema(checked: Plan) -> dict[str, Any]:
    """The result's shape: ``{pipeline, steps: {id: output}, timings_ms, elapsed_ms}``."""
    steps: dict[str, Any] = {}
    for planned in checked.steps:
        result = standalone(planned.spec.output_schema)
        if planned.step.for_each is None:
            steps[planned.step.id] = result
        else:
            item = {
                "type": "object",
                "properties": {
                    "box": {"description": "The region: [x, y, w, h] in the input image."},
                    "crop": {
                        "description": "What the tool saw: the region grown by the step's "
                        "padding, clipped to the image, as [x, y, w, h] in the input image."
                    },
                    "result": result,
                },
                "required": ["box", "crop", "result"],
            }
            steps[planned.step.id] = {"type": "array", "items": item}
    return {
        "type": "object",
        "properties": {
            "pipeline": {"type": ["string", "null"]},
            "steps": {"type": "object", "properties": steps, "required": list(steps)},
            "timings_ms": {"type": "object", "additionalProperties": {"type": "number"}},
            "elapsed_ms": {"type": "number"},
        },
        "required": ["pipeline", "steps", "timings_ms", "elapsed_ms"],
    }


def standalone(schema: dict[str, Any] | None) -> dict[str, Any]:
    """A tool's output schema made safe to nest: its ``$defs`` written in place (their
    ``#/$defs/…`` refs would not resolve inside another document) and root-only keywords
    dropped. A recursive or unresolvable schema becomes a plain object schema."""
    if not schema:
        return dict(_ANY_OBJECT)
    defs = schema.get("$defs", {})

    def resolve(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix("#/$defs/")
            if name == ref or name in seen or name not in defs:
                raise _Unnestable
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return resolve({**defs[name], **rest}, seen | {name})
        return {
            key: resolve(value, seen)
            for key, value in node.items()
            if key not in ("$defs", "$schema", "$id")
        }

    try:
        resolved: dict[str, Any] = resolve(schema, frozenset())
    except _Unnestable:
        return dict(_ANY_OBJECT)
    return resolved if resolved.get("type") == "object" else {**resolved, "type": "object"}


class _Unnestable(Exception):
    """A schema whose refs cannot be written in place."""
