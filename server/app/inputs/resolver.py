"""InputResolver: the one place where ``image``/``image_ref``/``image_url``/``image_path``
become the ``image`` + ``mime_type`` a tool's schema asks for.

ToolRunner calls :meth:`InputResolver.resolve` after choosing the tool and before
validating the payload, so every door (REST, run route, jobs, MCP, CLI) gets the same
forms, the same limits and the same errors, and the failure is counted like any other
invalid input. Jobs call :meth:`take_image` at submit instead: a reference is checked
then, and its bytes are pinned into the job's stored input, so an upload that expires
later cannot fail the job.

The resolver acts on tools whose input schema has an ``image`` property; a reference
field the tool declares itself (say, its own ``image_url``) is left to the tool. Since every
door's payload passes through it, it also refuses arguments nested deeper than
``VISOR_MAX_ARGS_DEPTH`` (:mod:`app.inputs.nesting`), for every tool, image or not.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.body_budget import BodyBudget
from app.errors import ErrorCode, VisorError
from app.files.owner import current_owner
from app.inputs.nesting import DEFAULT_MAX_DEPTH, check_depth
from app.inputs.paths import PathReader
from app.inputs.schema import FILE_URI_PREFIX, IMAGE_FIELDS, ImageForms, call_schema
from app.inputs.urls import UrlFetcher, UrlPolicy
from app.plugins.base import InvalidInput, ToolSpec
from app.plugins.base64_text import (
    decode_base64_text,
    decode_canonical,
    encode_base64,
    hint_for,
    refuse,
)
from app.plugins.images import image_mime_type
from app.settings import Settings
from app.units import human_bytes, limit_text

__all__ = ["IMAGE_FIELDS", "FileReader", "InputResolver", "ResolvedImage"]

#: ``(file id, owner) -> (bytes, mime type) | None`` — None: missing, expired or foreign.
FileReader = Callable[[str, str | None], tuple[bytes, str] | None]


@dataclass(frozen=True)
class ResolvedImage:
    data: bytes
    mime_type: str
    field: str
    text: str | None = None  # the caller's base64, when it was already canonical

    def base64(self) -> str:
        if self.text is not None:
            return self.text
        return encode_base64(self.data).decode("ascii")


class InputResolver:
    def __init__(
        self,
        *,
        max_bytes: int = 25 * 1024 * 1024,
        files: FileReader | None = None,
        urls: UrlFetcher | None = None,
        paths: PathReader | None = None,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self._max_bytes = max_bytes
        self._max_depth = max_depth
        self._files = files
        self._urls = urls or UrlFetcher(UrlPolicy(enabled=False))
        self._paths = paths or PathReader((), max_bytes=max_bytes)
        self._schemas: dict[int, tuple[ToolSpec, dict[str, Any]]] = {}

    @property
    def forms(self) -> ImageForms:
        """The image forms this resolver accepts (what every door's schema shows)."""
        return ImageForms(
            files=self._files is not None, urls=self._urls.enabled, paths=self._paths.enabled
        )

    def call_schema(self, spec: ToolSpec) -> dict[str, Any]:
        """What a caller may send ``spec`` (its input schema with the enabled image forms).

        Derived once per spec (specs are immutable and replaced on reload): MCP asks for
        it on every call.
        """
        cached = self._schemas.get(id(spec))
        if cached is not None and cached[0] is spec:
            return cached[1]
        if len(self._schemas) > 4096:  # reloads leave dead specs behind
            self._schemas.clear()
        schema = call_schema(spec.input_schema, self.forms)
        self._schemas[id(spec)] = (spec, schema)
        return schema

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        files: FileReader | None = None,
        budget: BodyBudget | None = None,
    ) -> InputResolver:
        """``budget``: the server's body budget, which downloaded images count in."""
        policy = UrlPolicy(
            enabled=settings.allow_url_inputs,
            max_bytes=settings.max_image_bytes,
            timeout_s=settings.url_input_timeout_s,
            max_redirects=settings.url_input_max_redirects,
            allow_networks=tuple(
                ipaddress.ip_network(n, strict=False) for n in settings.url_input_allow_networks
            ),
        )
        return cls(
            max_bytes=settings.max_image_bytes,
            files=files,
            urls=UrlFetcher(policy, budget=budget),
            paths=PathReader(settings.input_roots, max_bytes=settings.max_image_bytes),
            max_depth=settings.max_args_depth,
        )

    # -- the two entry points ---------------------------------------------------------------

    def resolve(self, spec: ToolSpec, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with its image (in whatever form) as clean base64 + mime type."""
        rest, image = self.take_image(spec, payload)  # checks the nesting too
        if image is None:
            return payload
        rest["image"] = image.base64()
        if _takes_mime_type(spec):
            rest["mime_type"] = image.mime_type
        return rest

    def take_image(
        self, spec: ToolSpec, payload: dict[str, Any], owner: str | None = None
    ) -> tuple[dict[str, Any], ResolvedImage | None]:
        """``(payload without its image fields, the image)``; ``(payload, None)`` when the
        tool takes no image or the call gives none (the schema then says what is missing)."""
        self.check_nesting(payload)
        fields = _image_fields(spec)
        given = [f for f in fields if f in payload and payload[f] is not None]
        if not given:
            return payload, None
        if not _takes_image(spec):
            raise InvalidInput(
                f"tool {spec.name!r} takes no image, but the call gives {given[0]}",
                details={"field": given[0]},
            )
        if len(given) > 1:
            raise InvalidInput(
                f"give one of {', '.join(fields)}, not {' and '.join(given)}",
                details={"field": given[1], "given": given},
            )
        field = given[0]
        declared = payload.get("mime_type") if _takes_mime_type(spec) else None
        image = self._load(field, payload[field], declared, owner)
        rest = {k: v for k, v in payload.items() if k not in fields and k != "mime_type"}
        return rest, image

    def check_nesting(self, args: object) -> None:
        """Refuse arguments nested deeper than ``VISOR_MAX_ARGS_DEPTH`` (``invalid_input``)."""
        check_depth(args, self._max_depth)

    def check_bytes(self, data: bytes, declared: object, field: str = "image") -> ResolvedImage:
        """Uploaded bytes (multipart): the same size, type and agreement checks."""
        return ResolvedImage(data, self._mime(data, declared, field), field)

    # -- the forms --------------------------------------------------------------------------

    def _load(self, field: str, value: Any, declared: object, owner: str | None) -> ResolvedImage:
        if field == "image":
            try:
                canonical = decode_canonical(value)
                if canonical is not None:  # plain base64: no cleaning, no re-encoding
                    mime = self._mime(canonical, declared, field)
                    return ResolvedImage(canonical, mime, field, value)
                data, from_url = decode_base64_text(value, field)
                declared = declared if declared not in (None, "") else from_url
                return self.check_bytes(data, declared, field)
            except InvalidInput as exc:
                hint = hint_for(value) if exc.details.get("looks_like") else None
                if hint:
                    exc.message = f"{exc.message}; {hint}"
                    exc.details["hint"] = hint
                raise
        if field == "image_ref":
            return self._from_file(value, declared, owner)
        if field == "image_url":
            data, content_type = self._urls.fetch(value)
            return self.check_bytes(data, declared or content_type, field)
        return self.check_bytes(self._paths.read(value), declared, field)

    def _from_file(self, value: Any, declared: object, owner: str | None) -> ResolvedImage:
        if isinstance(value, str) and value.startswith(FILE_URI_PREFIX):
            value = value[len(FILE_URI_PREFIX) :]  # the URI resources/list shows
        if not isinstance(value, str) or not value:
            raise refuse("image_ref", "must be a file id from POST /v1/files")
        if self._files is None:
            raise refuse(
                "image_ref", "cannot be used here: uploaded files live on a server (--server)"
            )
        found = self._files(value, owner if owner is not None else current_owner())
        if found is None:
            raise refuse(
                "image_ref",
                f"{value!r} does not exist or has expired (upload it again with POST /v1/files)",
            )
        data, _stored_type = found
        return self.check_bytes(data, declared, "image_ref")

    def _mime(self, data: bytes, declared: object, field: str) -> str:
        if len(data) > self._max_bytes:
            raise VisorError(
                f"{field} is {human_bytes(len(data))}; "
                f"{limit_text(human_bytes(self._max_bytes), 'VISOR_MAX_IMAGE_BYTES')}",
                code=ErrorCode.PAYLOAD_TOO_LARGE,
                details={
                    "field": field,
                    "size_bytes": len(data),
                    "limit_bytes": self._max_bytes,
                    "setting": "VISOR_MAX_IMAGE_BYTES",
                },
            )
        try:
            return image_mime_type(data, declared)
        except InvalidInput as exc:
            if exc.details.get("field") == "image" and field != "image":
                exc.message = exc.message.replace("image ", f"{field} ", 1)
                exc.details["field"] = field
            raise


def _properties(spec: ToolSpec) -> dict[str, Any] | None:
    """The declared properties; None for an open schema (it takes anything)."""
    props = spec.input_schema.get("properties")
    return props if isinstance(props, dict) else None


def _takes_image(spec: ToolSpec) -> bool:
    props = _properties(spec)
    return props is None or "image" in props


def _takes_mime_type(spec: ToolSpec) -> bool:
    props = _properties(spec)
    return props is None or "mime_type" in props


def _image_fields(spec: ToolSpec) -> tuple[str, ...]:
    """The image fields this tool leaves to the resolver (a tool may declare its own)."""
    props = _properties(spec) or {}
    return ("image", *(f for f in IMAGE_FIELDS[1:] if f not in props))
