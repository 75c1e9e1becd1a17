"""The shapes of video jobs: what a client submits and what the job stores."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.jobs.models import MAX_ATTEMPTS_LIMIT
from app.video.sampling import SampleRule

#: The plugin name of every video job in ``/v1/jobs`` (its tool names the target).
VIDEO_JOB_PLUGIN = "video"


class VideoJobRequest(BaseModel):
    """``POST /v1/video/jobs``: a video (an uploaded file's id, or a multipart ``file``)
    and what to run on its frames — a tool (``plugin``, ``tool``, ``args``) or a saved
    ``pipeline`` — with the sampling rule."""

    model_config = ConfigDict(extra="forbid")

    video_ref: str | None = Field(
        None, description="The id of a video uploaded with POST /v1/files."
    )
    plugin: str | None = Field(None, description="The plugin to run on each sampled frame.")
    tool: str | None = Field(None, description="Its tool (the plugin's default if omitted).")
    pipeline: str | None = Field(None, description="A saved pipeline, instead of a tool.")
    args: dict[str, Any] = Field(
        default_factory=dict, description="The tool's options (the frame is the image)."
    )
    sample: SampleRule = Field(default_factory=lambda: SampleRule.model_validate({}))
    frames: bool = Field(
        True,
        description="List every frame's result (up to the result size limit); false: the "
        "summary only.",
    )
    max_attempts: int | None = Field(None, ge=1, le=MAX_ATTEMPTS_LIMIT)

    @model_validator(mode="after")
    def _one_target(self) -> VideoJobRequest:
        if (self.plugin is None) == (self.pipeline is None):
            raise ValueError("name a plugin (and tool) or a pipeline, not both or neither")
        if self.pipeline is not None and (self.tool is not None or self.args):
            raise ValueError("a pipeline's steps carry their own tools and args")
        return self


class ToolTarget(BaseModel):
    plugin: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class PipelineTarget(BaseModel):
    pipeline: str
    spec: dict[str, Any]  # PipelineSpec JSON, pinned at submit


class StoredVideo(BaseModel):
    filename: str | None = None
    size_bytes: int


class VideoJobInput(BaseModel):
    """A video job's stored args (the video itself is the job's input file)."""

    target: ToolTarget | PipelineTarget
    sample: SampleRule
    video: StoredVideo
    frames: bool = True

    @property
    def job_tool(self) -> str:
        """The job's ``tool`` in ``/v1/jobs``: ``barcode.read`` or ``pipeline.<name>``."""
        if isinstance(self.target, PipelineTarget):
            return f"pipeline.{self.target.pipeline}"
        return f"{self.target.plugin}.{self.target.tool}"
