"""AnalysisService: the synchronous, API-facing way to run one tool on one input."""

from __future__ import annotations

import base64
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.errors import VisorError, envelope_from_exception
from app.rendering.renderer import Renderer
from app.services.plugin_management_service import PluginManagementService

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


def sniff_mime_type(data: bytes) -> str:
    """Best guess from the first bytes; tools still validate what they receive."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return "application/octet-stream"


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plugin: str = Field(description="Plugin name, e.g. image_info.")
    tool: str | None = Field(None, description="Tool name; default: the plugin's default tool.")
    image: str | None = Field(None, description="The image file, base64-encoded.")
    mime_type: str | None = Field(
        None, description="Mime type of the image; guessed from its bytes when omitted."
    )
    args: dict[str, Any] = Field(default_factory=dict, description="Tool-specific options.")
    render: bool = Field(
        False,
        description="Also return the result's boxes and polygons drawn over the image "
        "(rendered_image).",
    )


class AnalyzeResponse(BaseModel):
    result: dict[str, Any]
    plugin: str
    tool: str | None
    elapsed_ms: float
    rendered_image: str | None = Field(
        default=None, description="With render: the annotated image, PNG, base64-encoded."
    )

    def body(self) -> dict[str, Any]:
        """The JSON body, without ``rendered_image`` when nothing was rendered."""
        fields = self.__dict__
        if fields.get("rendered_image") is None:
            return {k: v for k, v in fields.items() if k != "rendered_image"}
        return fields


def image_payload(image_b64: str | None, mime_type: str | None) -> dict[str, Any]:
    """The ``image``/``mime_type`` part of a tool payload, with the type guessed if absent."""
    if image_b64 is None:
        return {}
    if mime_type is None:
        head = image_b64[:64]
        try:
            mime_type = sniff_mime_type(base64.b64decode(head[: len(head) - len(head) % 4]))
        except ValueError:
            mime_type = "application/octet-stream"
    return {"image": image_b64, "mime_type": mime_type}


class AnalysisService:
    def __init__(self, plugins: PluginManagementService, renderer: Renderer | None = None) -> None:
        self._plugins = plugins
        self._renderer = renderer or Renderer()

    @property
    def plugins(self) -> PluginManagementService:
        return self._plugins

    def analyze(self, request: AnalyzeRequest) -> tuple[AnalyzeResponse | None, dict[str, Any]]:
        payload = {**request.args, **image_payload(request.image, request.mime_type)}
        return self.run_tool(request.plugin, request.tool, payload, render=request.render)

    def run_tool(
        self, plugin: str, tool: str | None, payload: dict[str, Any], *, render: bool = False
    ) -> tuple[AnalyzeResponse | None, dict[str, Any]]:
        """Run one tool; returns ``(response, {})`` or ``(None, envelope)``.

        With ``render``, the valid result is also drawn over the input image (after
        ToolRunner, never inside it).
        """
        started = time.perf_counter()
        result, error = self._plugins.run(plugin, payload, tool)
        if error:
            return None, error
        rendered: str | None = None
        if render:
            try:
                png = self._renderer.render(payload, result)
            except VisorError as exc:
                return None, envelope_from_exception(exc, plugin=plugin)
            rendered = base64.b64encode(png).decode("ascii")
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
