"""What runs on one frame: a tool through PluginManagementService, or a pinned pipeline.

Both end in ``PluginManagementService.run`` (ToolRunner: validated, isolated, timed,
counted, enveloped); nothing here calls a plugin.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import ValidationError

from app.errors import ErrorCode, VisorError
from app.pipelines.runner import Outcome
from app.pipelines.service import PipelineInput, PipelineService
from app.pipelines.spec import PipelineSpec
from app.services.plugin_management_service import PluginManagementService
from app.video.models import PipelineTarget, ToolTarget


class FrameTarget(Protocol):
    #: Whether frames may come as decoded pixels (the tool declares ``pixels=True``).
    takes_pixels: bool
    #: How many frames may be in the tool at once: a batching tool's batch size, else 1.
    in_flight: int

    def run(self, image_b64: str, mime_type: str) -> Outcome: ...


class ToolFrames:
    def __init__(self, plugins: PluginManagementService, target: ToolTarget) -> None:
        self._plugins = plugins
        self._target = target
        record = plugins.registry.get(target.plugin)
        spec = record.tools.get(target.tool) if record is not None else None
        self.takes_pixels = bool(spec is not None and spec.pixels)
        batch = spec.batch if spec is not None else None
        self.in_flight = batch.max_size if batch is not None else 1

    def run(self, image_b64: str, mime_type: str) -> Outcome:
        payload = {**self._target.args, "image": image_b64, "mime_type": mime_type}
        return self._plugins.run(self._target.plugin, payload, self._target.tool)


class PipelineFrames:
    takes_pixels = False  # steps may crop, and pipelines take the image as given
    in_flight = 1

    def __init__(self, pipelines: PipelineService, target: PipelineTarget) -> None:
        self._pipelines = pipelines
        try:
            self._spec = PipelineSpec.model_validate(target.spec)
        except ValidationError:
            raise VisorError(
                "the job's pipeline spec is unreadable", code=ErrorCode.INVALID_INPUT
            ) from None

    def run(self, image_b64: str, mime_type: str) -> Outcome:
        given = PipelineInput.model_validate({"image": image_b64, "mime_type": mime_type})
        return self._pipelines.run(self._spec, given)
