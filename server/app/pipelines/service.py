"""PipelineService: save, list and run pipelines; the API, MCP and the CLI call it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import ErrorCode, VisorError, envelope_from_exception
from app.inputs.resolver import IMAGE_FIELDS, ResolvedImage
from app.pipelines.budget import PipelineLimits
from app.pipelines.names import PIPELINE_JOB_PLUGIN
from app.pipelines.plan import Plan, plan
from app.pipelines.runner import Outcome, PipelineRunner
from app.pipelines.spec import PipelineSpec
from app.pipelines.store import PipelineStore, SavedPipeline
from app.services.plugin_management_service import PluginManagementService

__all__ = ["PIPELINE_JOB_PLUGIN", "InlinePipelineRun", "PipelineInput", "PipelineService"]


class PipelineInput(BaseModel):
    """The image a pipeline runs on, in any form a tool call takes."""

    model_config = ConfigDict(extra="forbid")

    image: str | None = Field(None, description="The image, base64 (a data: URL is fine).")
    image_ref: str | None = Field(None, description="An id from POST /v1/files.")
    image_url: str | None = Field(None, description="A public http(s) URL, when allowed.")
    image_path: str | None = Field(None, description="A file under VISOR_INPUT_ROOTS.")
    mime_type: str | None = None

    def payload(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class InlinePipelineRun(PipelineInput):
    spec: PipelineSpec


class PipelineService:
    def __init__(
        self, plugins: PluginManagementService, store: PipelineStore, limits: PipelineLimits
    ) -> None:
        self._plugins = plugins
        self._store = store
        self._runner = PipelineRunner(plugins, limits)

    @property
    def store(self) -> PipelineStore:
        return self._store

    @property
    def plugins(self) -> PluginManagementService:
        return self._plugins

    def save(self, spec: PipelineSpec) -> tuple[SavedPipeline, bool]:
        """Check the spec against the installed tools, then store it under its name."""
        if spec.name is None:
            raise VisorError(
                "a saved pipeline needs a name",
                code=ErrorCode.INVALID_INPUT,
                details={"field": "name"},
            )
        self._plan(spec)
        return self._store.save(spec)

    def run_saved(self, name: str, given: PipelineInput) -> Outcome:
        return self.run(self._store.get(name).spec, given)

    def run(self, spec: PipelineSpec, given: PipelineInput) -> Outcome:
        """``(result, {})`` or ``({}, envelope)``; checks and input errors are envelopes too."""
        try:
            checked = self._plan(spec)
            image = self._image(checked, given.payload())
        except VisorError as exc:
            return {}, envelope_from_exception(exc)
        return self._runner.run(checked, image)

    def pin(
        self, name: str | None, payload: dict[str, Any], uploaded: ResolvedImage | None = None
    ) -> tuple[dict[str, Any], ResolvedImage | None]:
        """The stored input of a pipeline job: the saved spec as it is now (editing the
        pipeline later does not change a queued job) and the image, resolved once."""
        if not name:
            raise VisorError(
                "a pipeline job names its pipeline as 'tool'",
                code=ErrorCode.INVALID_INPUT,
                details={"field": "tool"},
            )
        spec = self._store.get(name).spec
        try:
            given = PipelineInput.model_validate(payload)
        except ValidationError as exc:
            raise VisorError(
                "a pipeline job takes only the image (image, image_ref, image_url, "
                "image_path, mime_type); its steps carry their own args",
                code=ErrorCode.INVALID_INPUT,
            ) from exc
        checked = self._plan(spec)
        image = uploaded or self._image(checked, given.payload())
        return {"spec": spec.model_dump(mode="json")}, image

    def run_pinned(self, payload: dict[str, Any]) -> Outcome:
        """Run a pipeline job's stored input (see :meth:`pin`)."""
        try:
            spec = PipelineSpec.model_validate(payload.get("spec"))
        except ValidationError:
            return {}, envelope_from_exception(
                VisorError("the job's pipeline spec is unreadable", code=ErrorCode.INVALID_INPUT)
            )
        given = PipelineInput.model_validate(
            {"image": payload.get("image"), "mime_type": payload.get("mime_type")}
        )
        return self.run(spec, given)

    def _plan(self, spec: PipelineSpec) -> Plan:
        """The spec checked against the installed tools; its steps' args within the
        server's nesting limit (the one every door's arguments meet)."""
        for step in spec.steps:
            self._plugins.inputs.check_nesting(step.args)
        return plan(spec, self._plugins.registry)

    def _image(self, checked: Plan, payload: dict[str, Any]) -> ResolvedImage | None:
        """The input image, resolved once (checked as the first step taking one would)."""
        if not any(field in payload for field in IMAGE_FIELDS):
            return None
        for planned in checked.steps:
            if "image" in planned.spec.input_schema.get("properties", {}):
                _, image = self._plugins.inputs.take_image(planned.spec, payload)
                return image
        return None
