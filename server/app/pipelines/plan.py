"""Checking a pipeline spec against the installed tools, before anything runs.

A spec is checked when it is saved and again when it runs (plugins come and go): every
step's tool exists, its references name other steps and fields their tools' output schemas
declare, the references form no cycle, and its static args pass the tool's input schema.
Every failure is a ValidationError (``invalid_input``) whose ``details.step`` names the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from app.errors import ErrorCode, VisorError
from app.pipelines.spec import PipelineSpec, Step
from app.plugins.base import ToolSpec
from app.plugins.loader.plugin_registry import PluginRegistry
from app.plugins.runtime.tool_runner import select_tool
from app.plugins.runtime.validation import summarise, validator_for

#: The image fields a step never takes from its args: the pipeline gives the image.
_IMAGE_FIELDS = {"image", "image_ref", "image_url", "image_path", "mime_type"}

#: Stands in for the image while static args are checked against the schema.
_PLACEHOLDER_PNG = "iVBORw0KGgo="  # the PNG signature; only the schema sees it


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    plugin: str
    tool: str
    spec: ToolSpec


@dataclass(frozen=True)
class Plan:
    """The steps in an order where every step comes after the steps it reads from."""

    spec: PipelineSpec
    steps: tuple[PlannedStep, ...]


def step_error(step: str, message: str, **details: Any) -> VisorError:
    return VisorError(
        f"step {step!r}: {message}",
        code=ErrorCode.INVALID_INPUT,
        details={"step": step, **details},
    )


def plan(spec: PipelineSpec, registry: PluginRegistry) -> Plan:
    """The runnable plan of ``spec``; raises ``invalid_input`` naming the faulty step."""
    by_id: dict[str, Step] = {}
    for step in spec.steps:
        if step.id in by_id:
            raise step_error(step.id, "another step has the same id")
        by_id[step.id] = step
    planned = {step.id: _resolve_tool(step, registry) for step in spec.steps}
    graph: dict[str, set[str]] = {}
    for step in spec.steps:
        for ref in step.references():
            if ref not in by_id:
                raise step_error(step.id, f"refers to step {ref!r}, which does not exist")
        graph[step.id] = step.references()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = list(dict.fromkeys(exc.args[1]))
        raise step_error(cycle[0], f"steps refer to each other in a cycle: {cycle}") from exc
    for step in spec.steps:
        _check_fields(step, planned)
        _check_args(planned[step.id])
    return Plan(spec, tuple(planned[step_id] for step_id in order))


def _resolve_tool(step: Step, registry: PluginRegistry) -> PlannedStep:
    record = registry.get(step.plugin_name)
    if record is None:
        raise step_error(step.id, f"plugin {step.plugin_name!r} is not installed")
    tool = select_tool(step.tool_name, None, record.default_tool)
    if tool is None or tool not in record.tools:
        raise step_error(
            step.id,
            f"plugin {step.plugin_name!r} has no tool {step.tool_name!r}",
            available=sorted(record.tools),
        )
    return PlannedStep(step, step.plugin_name, tool, record.tools[tool])


def _check_fields(step: Step, planned: dict[str, PlannedStep]) -> None:
    references = [("args_from", ref) for ref in step.args_from.values()]
    if step.for_each:
        references.append(("for_each", step.for_each))
    for kind, ref in references:
        source, _, path = ref.partition(".")
        schema = planned[source].spec.output_schema
        found = resolve_schema_path(schema, path.split(".")) if path else schema
        if found is None:
            raise step_error(
                step.id,
                f"{kind} refers to {ref!r}, but step {source!r}'s output has no field {path!r}",
            )
        # a for_each step's own output is a list of {box, result}: regions already
        wraps = planned[source].step.for_each is not None
        if kind == "for_each" and not wraps and not holds_regions(schema, found):
            raise step_error(
                step.id,
                f"for_each refers to {ref!r}, which holds no regions (objects with a "
                f"'box'): it is {_kind_of(schema, found)}",
                field=ref,
            )


def resolve_schema_path(schema: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    """The sub-schema at a dotted path (through objects and array items), or None when the
    schema does not declare it. A schema that declares no properties admits any path."""
    root = schema
    node: dict[str, Any] | None = schema
    for part in path:
        node = _deref(root, node)
        while node is not None and node.get("type") == "array":
            node = _deref(root, node.get("items"))
        if node is None:
            return None
        properties = node.get("properties")
        if properties is None:
            return {}  # free-form: nothing to check against
        node = properties.get(part)
    return _deref(root, node)


def holds_regions(root: dict[str, Any], node: dict[str, Any] | None, depth: int = 0) -> bool:
    """Whether a value of schema ``node`` can hold regions (objects with a ``box``), the
    things ``for_each`` runs on: a region, a list or object holding some, or a value the
    schema leaves free-form. A number, a string or a list of them cannot."""
    node = _deref(root, node)
    if node is None or depth > 32:  # a recursive schema this deep: do not refuse it
        return node is not None
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        return any(holds_regions(root, branch, depth + 1) for branch in branches)
    kind = node.get("type")
    if kind == "array" or "items" in node or "prefixItems" in node:
        items = [node["items"]] if isinstance(node.get("items"), dict) else []
        items += node.get("prefixItems") or []
        return not items or any(holds_regions(root, item, depth + 1) for item in items)
    if kind == "object" or "properties" in node:
        properties = node.get("properties")
        if properties is None:
            return True  # free-form
        if "box" in properties:
            return True
        extra = node.get("additionalProperties")
        return any(
            holds_regions(root, child, depth + 1)
            for child in [*properties.values(), *([extra] if isinstance(extra, dict) else [])]
        )
    return kind is None  # no type: free-form


def _kind_of(root: dict[str, Any], node: dict[str, Any] | None) -> str:
    kind = (_deref(root, node) or {}).get("type")
    if kind == "array":
        array = _deref(root, node) or {}
        first = array.get("items") or (array.get("prefixItems") or [None])[0]
        items = _deref(root, first) or {}
        return f"a list of {items['type']}s" if isinstance(items.get("type"), str) else "a list"
    article = "an" if str(kind)[:1] in "aeiou" else "a"
    return f"{article} {kind}" if isinstance(kind, str) else "a value with no regions"


def _deref(root: dict[str, Any], node: Any) -> dict[str, Any] | None:
    while isinstance(node, dict) and "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        node = root.get("$defs", {}).get(name)
    if isinstance(node, dict) and "anyOf" in node:  # Optional[...]: the non-null branch
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        if len(branches) == 1:
            return _deref(root, branches[0])
    return node if isinstance(node, dict) else None


def _check_args(planned: PlannedStep) -> None:
    step = planned.step
    given = _IMAGE_FIELDS.intersection(step.args)
    if given:
        raise step_error(step.id, f"args may not set {sorted(given)}: the pipeline gives the image")
    instance: dict[str, Any] = {**step.args}
    properties = planned.spec.input_schema.get("properties", {})
    if "image" in properties:
        instance["image"] = _PLACEHOLDER_PNG
    later = set(step.args_from)
    problems = [
        p
        for p in validator_for(planned.spec.input_schema).errors(instance)
        if not any(
            p["path"].startswith(f"/{name}") or f"'{name}'" in p["message"] for name in later
        )
    ]
    if problems:
        raise step_error(
            step.id,
            f"args do not fit {planned.plugin}.{planned.tool}: {summarise(problems)}",
            errors=problems,
        )
