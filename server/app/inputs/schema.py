"""The schema of what a caller may send a tool: its input schema plus the image forms.

A tool declares ``image`` (base64) because that is what it receives; callers may instead
give ``image_ref``, ``image_url`` or ``image_path``, which the input resolver turns into
``image`` before the tool's own schema is checked. A client that validates arguments
against the tool's own schema (the TypeScript SDK's validator, a dashboard form) would
refuse those forms, so every door shows this schema instead: the forms this server
accepts, as a ``oneOf`` (exactly one of them), generated here from the resolver's settings
— one place for REST's manifest, MCP's ``tools/list`` and the dashboard's form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The ways to give a tool its image, in the order documented.
IMAGE_FIELDS = ("image", "image_ref", "image_url", "image_path")

#: ``image_ref`` also takes the URI an MCP client sees the file as (``resources/list``).
FILE_URI_PREFIX = "visor://files/"

#: What the resolver makes of the fields every image tool shares (whatever a tool says).
_IMAGE_DESCRIPTION = "The image, base64 (a data: URL is fine)."

_FORM_PROPERTIES: dict[str, dict[str, Any]] = {
    "image_ref": {
        "type": "string",
        "description": "Or: an uploaded file's id or visor://files/<id>.",
    },
    "image_url": {
        "type": "string",
        "description": "Or: an http(s) URL.",
    },
    "image_path": {
        "type": "string",
        "description": "Or: a path or file:// URI under the input roots.",
    },
}


@dataclass(frozen=True)
class ImageForms:
    """Which image forms this server accepts besides ``image`` (base64)."""

    files: bool = False  # image_ref: uploaded files exist (a server, not the bare CLI)
    urls: bool = False  # image_url: VISOR_ALLOW_URL_INPUTS
    paths: bool = False  # image_path: VISOR_INPUT_ROOTS is set

    @property
    def enabled(self) -> tuple[str, ...]:
        on = {"image_ref": self.files, "image_url": self.urls, "image_path": self.paths}
        return ("image", *(field for field in IMAGE_FIELDS[1:] if on[field]))


def call_schema(input_schema: dict[str, Any], forms: ImageForms) -> dict[str, Any]:
    """``input_schema`` as a caller sees it: every enabled image form, exactly one of them.

    Tools without an ``image`` property are returned as they are; a form the tool declares
    itself (its own ``image_url``, say) is the tool's and left alone, as the resolver does.
    """
    properties = input_schema.get("properties")
    if not isinstance(properties, dict) or "image" not in properties:
        return input_schema
    fields = [f for f in forms.enabled if f == "image" or f not in properties]
    added = {f: _FORM_PROPERTIES[f] for f in fields[1:]}
    shared = {"image": {**properties["image"], "description": _IMAGE_DESCRIPTION}}
    if isinstance(properties.get("mime_type"), dict):  # optional: read from the bytes
        mime = {k: v for k, v in properties["mime_type"].items() if k != "description"}
        shared["mime_type"] = mime
    schema = {**input_schema, "properties": {**properties, **shared, **added}}
    required = list(input_schema.get("required", []))
    if "mime_type" in required:  # the resolver reads the type from the bytes
        required.remove("mime_type")
    if "image" in required and len(fields) > 1:
        required.remove("image")
        # Each branch defines its property too: strict validators (AJV's strictRequired)
        # refuse a "required" its own subschema does not define, and portability linters
        # (the Inspector's --strict) a bare `true` schema.
        one_of = [
            {"properties": {field: {"type": "string"}}, "required": [field]} for field in fields
        ]
        if "oneOf" in schema:  # keep the tool's own alternative, and add this one
            schema["allOf"] = [*schema.get("allOf", []), {"oneOf": one_of}]
        else:
            schema["oneOf"] = one_of
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return schema
