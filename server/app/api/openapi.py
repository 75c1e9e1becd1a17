"""The OpenAPI document, completed with what the middleware answers before any route.

FastAPI describes each route from its own declaration; the answers of the layers in front
of the routes — the auth middleware (401, 403, 429) and the body limits (413, 503) — and
the keys themselves would otherwise be missing, so a generated client or a schema-driven
tester meets responses the document never promised; and FastAPI's default 422 (a shape
Visor never sends: its validation errors are 400 envelopes) would promise one it never
gives. This module adds them from the same
tables those layers enforce (:data:`app.auth.policy.ROUTE_SCOPES`), once per app.
(``ErrorResponse`` is in the document already: the tool routes declare it.)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.auth.policy import ROUTE_SCOPES
from app.auth.scopes import Access

_ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

#: Two ways to present a key; either one satisfies an operation.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`vsr_…`) as `Authorization: Bearer KEY`.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same key in the `X-API-Key` header.",
    },
}

_GUARDED = {
    "401": "No key, or a wrong, revoked or expired one (once keys exist).",
    "403": "The key's scope is too low, or the browser Origin is not allowed.",
    "429": "Over the key's request rate or concurrency quota (see `Retry-After`).",
}
_WITH_BODY = {
    "413": "The request body is larger than VISOR_MAX_REQUEST_BYTES.",
    "503": "Too many request bodies in flight; retry after `Retry-After` seconds.",
}


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json`` (built on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the security schemes and the middleware's responses to every operation."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            access = ROUTE_SCOPES.get((method.upper(), path), Access.ADMIN)
            responses = operation.setdefault("responses", {})
            if responses.pop("422", None) is not None:  # FastAPI's default; Visor says 400
                _add(responses, {"400": "Invalid request: an error envelope says what."})
            if access is not Access.PUBLIC:
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
                _add(responses, _GUARDED)
                note = f"Needs a key with scope `{access.name.lower()}` once keys exist."
                description = operation.get("description", "")
                operation["description"] = f"{description}\n\n{note}".strip()
            if "requestBody" in operation:
                _add(responses, _WITH_BODY)
    schemas = components.get("schemas", {})
    if "HTTPValidationError" not in str(schema.get("paths")):
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
    return schema


def _add(responses: dict[str, Any], statuses: dict[str, str]) -> None:
    for status, description in statuses.items():
        responses.setdefault(
            status,
            {"description": description, "content": {"application/json": {"schema": _ERROR}}},
        )
