"""AnalysisService: the synchronous, API-facing way to run one tool on one input.

Its request and response shapes live in :mod:`app.schemas.analyze` (the job store and
every door share them); they are importable from here too.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from app.errors import VisorError, envelope_from_exception
from app.inputs.resolver import IMAGE_FIELDS
from app.plugins import images
from app.rendering.renderer import Renderer
from app.schemas.analyze import AnalyzeRequest, AnalyzeResponse
from app.services.plugin_management_service import PluginManagementService

__all__ = [
    "AnalysisService",
    "AnalyzeRequest",
    "AnalyzeResponse",
    "image_payload",
    "request_payload",
]


def sniff_mime_type(data: bytes) -> str:
    """The image type the first bytes show; ``application/octet-stream`` (which declares
    nothing: the input resolver then reads the bytes itself) when they show none."""
    return images.sniff_mime_type(data) or "application/octet-stream"


def image_payload(image_b64: str | None, mime_type: str | None) -> dict[str, Any]:
    """The ``image``/``mime_type`` part of a tool payload; the input resolver reads the type
    from the bytes when it is not given."""
    if image_b64 is None:
        return {}
    return (
        {"image": image_b64} if mime_type is None else {"image": image_b64, "mime_type": mime_type}
    )


def request_payload(request: AnalyzeRequest) -> dict[str, Any]:
    """The tool payload of an analyze (or job) request: ``args`` plus its image fields."""
    payload = dict(request.args)
    for name in IMAGE_FIELDS:
        value = getattr(request, name)
        if value is not None:
            payload[name] = value
    if request.mime_type is not None:
        payload["mime_type"] = request.mime_type
    return payload


class AnalysisService:
    def __init__(self, plugins: PluginManagementService, renderer: Renderer | None = None) -> None:
        self._plugins = plugins
        self._renderer = renderer or Renderer()

    @property
    def plugins(self) -> PluginManagementService:
        return self._plugins

    def analyze(self, request: AnalyzeRequest) -> tuple[AnalyzeResponse | None, dict[str, Any]]:
        payload = request_payload(request)
        return self.run_tool(request.plugin, request.tool, payload, render=request.render)

    def run_tool(
        self,
        plugin: str,
        tool: str | None,
        payload: dict[str, Any],
        *,
        render: bool = False,
        render_max_bytes: int | None = None,
    ) -> tuple[AnalyzeResponse | None, dict[str, Any]]:
        """Run one tool; returns ``(response, {})`` or ``(None, envelope)``.

        With ``render``, the valid result is also drawn over the input image (after
        ToolRunner, never inside it): a PNG, or with ``render_max_bytes`` a JPEG within
        that budget (MCP).
        """
        started = time.perf_counter()
        if render:
            payload = self._with_image(plugin, tool, payload)
        result, error = self._plugins.run(plugin, payload, tool)
        if error:
            return None, error
        rendered: str | None = None
        if render:
            try:
                picture = self._renderer.render(payload, result, max_bytes=render_max_bytes)
            except VisorError as exc:
                return None, envelope_from_exception(exc, plugin=plugin)
            rendered = base64.b64encode(picture).decode("ascii")
        elapsed_ms = round((time.perf_counter() - started) * 1000.0, 3)
        return (
            AnalyzeResponse.model_construct(
                result=result,
                plugin=plugin,
                tool=self._plugins.selected_tool(plugin, tool, payload),
                elapsed_ms=elapsed_ms,
                rendered_image=rendered,
            ),
            {},
        )

    def _with_image(self, plugin: str, tool: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with its image reference resolved, so the renderer draws on the very
        bytes the tool saw. If that fails, the payload goes to ToolRunner unchanged: it
        resolves it again and reports (and counts) the failure like any other."""
        record = self._plugins.registry.get(plugin)
        name = self._plugins.selected_tool(plugin, tool, payload)
        spec = record.tools.get(name) if record is not None and name is not None else None
        if spec is None:
            return payload
        try:
            return self._plugins.inputs.resolve(spec, payload)
        except VisorError:
            return payload
