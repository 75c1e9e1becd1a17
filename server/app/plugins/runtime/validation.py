"""JSON Schema validation on the hot path: compile each schema once, validate in Rust."""

from __future__ import annotations

import threading
from typing import Any

import jsonschema_rs

_MAX_REPORTED_ERRORS = 10


class SchemaValidator:
    __slots__ = ("_schema", "_validator")

    def __init__(self, schema: dict[str, Any]) -> None:
        self._schema = schema
        self._validator = jsonschema_rs.validator_for(schema)

    def errors(self, instance: Any) -> list[dict[str, Any]]:
        """Empty when valid; otherwise up to ten ``{"path", "message"}`` problems."""
        try:
            if self._validator.is_valid(instance):
                return []
            errors = list(self._validator.iter_errors(instance))
        except (ValueError, TypeError) as exc:  # Python objects with no JSON meaning
            return [{"path": "/", "message": f"value is not JSON-compatible: {exc}"}]
        problems: list[dict[str, Any]] = []
        for error in errors:
            path = "/" + "/".join(str(p) for p in error.instance_path)
            unexpected = getattr(error.kind, "unexpected", None)
            if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
                problems.append(self._unknown_keys(path, list(unexpected or []), error))
            else:
                problems.append({"path": path, "message": error.message})
            if len(problems) >= _MAX_REPORTED_ERRORS:
                break
        return problems

    def _unknown_keys(self, path: str, unexpected: list[str], error: Any) -> dict[str, Any]:
        """A misspelled option names itself and what the tool accepts."""
        node: Any = self._schema
        for step in list(error.schema_path)[:-1]:  # down to the object that refused them
            node = node[step] if isinstance(node, dict | list) else {}
        accepted = sorted(node.get("properties", {})) if isinstance(node, dict) else []
        what = "argument" if path == "/" else "key"
        names = ", ".join(repr(k) for k in unexpected)
        plural = "s" if len(unexpected) > 1 else ""
        message = f"unknown {what}{plural} {names}; accepted: {', '.join(accepted) or 'none'}"
        return {"path": path, "message": message, "unexpected": unexpected, "accepted": accepted}


_cache: dict[int, tuple[dict[str, Any], SchemaValidator]] = {}
_cache_lock = threading.Lock()


def validator_for(schema: dict[str, Any]) -> SchemaValidator:
    """The compiled validator for this schema object (cached by identity)."""
    entry = _cache.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    validator = SchemaValidator(schema)
    with _cache_lock:
        _cache[id(schema)] = (schema, validator)
    return validator


def summarise(problems: list[dict[str, Any]]) -> str:
    first = problems[0]
    where = "" if first["path"] == "/" else f" at {first['path']}"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first['message']}{where}{more}"
