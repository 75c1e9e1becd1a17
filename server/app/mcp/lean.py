"""Input schemas as an agent's model reads them: what it needs to call, nothing more.

``tools/list`` is paid for in the model's context on every turn (measured: 786 o200k
tokens per tool before this). Pydantic's schemas carry noise a model does not need —
``title`` on every node, ``anyOf [X, null]`` with ``default: null`` for every optional
field, ``$defs`` indirections — and some options are catalogues (Tesseract's variables,
page segmentation modes) that matter to few calls. :func:`lean` keeps the meaning a
caller needs (types, enums, bounds, defaults, required, the first clause of each
description) and moves the rest out: a catalogue keeps its type, default and first
clause, and the tool's description names the resource with everything
(:data:`SCHEMA_URI`, :func:`note`).

The listing is never stricter than what ToolRunner accepts, only terser: dropping
``null`` from an optional field's types still lets a caller leave it out.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

#: The resource holding a tool's full input schema (the catalogues :func:`lean` moved).
SCHEMA_URI = "visor://tools/{name}/input-schema"

#: A property whose lean schema is longer than this (JSON characters) is a catalogue.
CATALOGUE_CHARS = 360

#: A property description longer than this is cut to its first clause.
DESCRIPTION_CHARS = 48

#: What one tool's listing (name, description, input schema) may cost the model, in
#: tokens, estimated from its JSON at :data:`CHARS_PER_TOKEN` (o200k averages ~4 on these
#: schemas; the estimate errs towards fewer characters per token).
TOOL_BUDGET_TOKENS = 280
CHARS_PER_TOKEN = 3.6

_IMAGE_FORMS = frozenset({"image", "image_ref", "image_url", "image_path", "mime_type", "render"})
_BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
)

#: Keywords whose values are instances (data), never schemas to walk into.
_DATA = frozenset({"default", "enum", "const", "examples"})

#: Keywords that only annotate (the model reads descriptions, not these).
_NOISE = frozenset({"title", "$schema", "$id", "examples", "contentEncoding", "contentMediaType"})


def lean(
    schema: dict[str, Any], tool_name: str, description: str = ""
) -> tuple[dict[str, Any], bool]:
    """``(the input schema a model reads, whether anything went to the resource)``, within
    :data:`TOOL_BUDGET_TOKENS` (with the tool's name, description and :func:`note`) where
    it can be."""
    defs = schema.get("$defs", {})
    try:
        inlined = _inline(schema, defs, frozenset())
    except _Recursive:
        inlined = {k: v for k, v in schema.items() if k != "$defs"} | {"$defs": defs}
    cleaned: dict[str, Any] = _clean(inlined)
    properties = cleaned.get("properties")
    if not isinstance(properties, dict):
        return cleaned, False
    slim: dict[str, Any] = {}
    for key, prop in properties.items():
        if not isinstance(prop, dict):
            slim[key] = prop
        elif len(orjson.dumps(prop)) > CATALOGUE_CHARS:
            slim[key] = _summary(prop)
        else:
            slim[key] = prop
            text = prop.get("description")
            if isinstance(text, str) and len(text) > DESCRIPTION_CHARS:
                slim[key] = {**prop, "description": _first_clause(text)}
    cleaned["properties"] = slim
    fixed = len(tool_name) + len(description) + len(note(tool_name)) + 1
    _fit(cleaned, int(TOOL_BUDGET_TOKENS * CHARS_PER_TOKEN) - fixed)
    return cleaned, slim != properties  # _fit replaces entries of slim, never mutates them


def _fit(schema: dict[str, Any], budget_chars: int) -> None:
    """Over budget, the last-declared optional properties (authors list the everyday ones
    first) lose their descriptions, then their bounds, then their defaults (the server
    applies them anyway), until the schema fits; the resource keeps them all."""
    properties: dict[str, Any] = schema["properties"]
    required = set(schema.get("required", [])) | _IMAGE_FORMS
    optional = [k for k in reversed(properties) if k not in required]
    for drop in (("description",), _BOUNDS, ("default",)):
        for key in optional:
            if len(orjson.dumps(schema)) <= budget_chars:
                return
            prop = properties[key]
            if isinstance(prop, dict) and any(k in prop for k in drop):
                properties[key] = {k: v for k, v in prop.items() if k not in drop}


def note(tool_name: str) -> str:
    """Where the options :func:`lean` shortened are in full."""
    return f"Full options: {SCHEMA_URI.format(name=tool_name)}"


class _Recursive(Exception):
    """A ``$ref`` cycle: such a schema keeps its ``$defs``."""


def _inline(node: Any, defs: dict[str, Any], seen: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in seen or name not in defs:
            raise _Recursive
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _inline({**defs[name], **rest}, defs, seen | {name})
    return {k: v if k in _DATA else _inline(v, defs, seen) for k, v in node.items() if k != "$defs"}


def _clean(node: Any) -> Any:
    """Drop annotation noise; ``anyOf [X, null]`` (pydantic's ``X | None``) becomes X."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NOISE and not isinstance(value, dict):
            continue
        if key in _DATA:  # instances, not schemas: kept as they are
            out[key] = value
        elif key == "properties" and isinstance(value, dict):  # keys are names, not keywords
            out[key] = {name: _clean(prop) for name, prop in value.items()}
        else:
            out[key] = _clean(value)
    options = out.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(options) and isinstance(kept[0], dict):
            del out["anyOf"]
            out = {**kept[0], **out}
    if "default" in out and out["default"] is None:
        del out["default"]
    return out


def _summary(prop: dict[str, Any]) -> dict[str, Any]:
    """A catalogue property as its type, default and first clause (details: the resource)."""
    summary: dict[str, Any] = {}
    kind = prop.get("type")
    if kind is None and "enum" in prop:
        kinds = sorted({_json_type(v) for v in prop["enum"]})
        kind = kinds[0] if len(kinds) == 1 else kinds
    if kind is not None:
        summary["type"] = kind
    if "default" in prop:
        summary["default"] = prop["default"]
    first = _first_clause(str(prop.get("description", "")))
    if first:
        summary["description"] = first
    return summary


_BREAK = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!etc)[.;:] |, e\.g\.")


def _first_clause(text: str) -> str:
    """The text up to its first sentence or clause break (at least a few words of it)."""
    text = text.strip()
    found = _BREAK.search(text, 24)
    return (text[: found.start()] if found else text).rstrip(".,;: ") + "."


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "object"
