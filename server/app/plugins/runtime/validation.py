"""JSON Schema validation on the hot path: compile each schema once, validate in Rust."""

from __future__ import annotations

import threading
from typing import Any

import jsonschema_rs

_MAX_REPORTED_ERRORS = 10


class SchemaValidator:
    __slots__ = ("_validator",)

    def __init__(self, schema: dict[str, Any]) -> None:
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
            problems.append({"path": path, "message": error.message})
            if len(problems) >= _MAX_REPORTED_ERRORS:
                break
        return problems


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
