"""The shapes of sources: what a client asks for, what a source reports."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.sources.analytics import AnalyticsSpec

#: URL schemes a source may pull (files are named by ``path`` instead).
URL_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "http", "https"})
_SINK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class SourceState(StrEnum):
    """What a source should be doing (any server running it follows the row)."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FAILED = "failed"


class LiveSample(BaseModel):
    """Which frames of the source run: at most ``fps`` per second, or every n-th frame
    (neither: every frame the tool keeps up with; latest wins either way)."""

    model_config = ConfigDict(extra="forbid")

    fps: float | None = Field(
        default=None, gt=0, le=120, description="Cap on sampled frames per second."
    )
    every_n_frames: int | None = Field(default=None, ge=1, le=10_000)

    @model_validator(mode="after")
    def _one(self) -> LiveSample:
        if self.fps is not None and self.every_n_frames is not None:
            raise ValueError("give fps or every_n_frames, not both")
        return self

    def rule(self) -> dict[str, Any]:
        """The video sampling rule (:class:`app.video.sampling.SampleRule`) it stands for."""
        if self.fps is None and self.every_n_frames is None:
            return {"every_n_frames": 1}
        return self.model_dump(exclude_none=True)


class JsonlSink(BaseModel):
    """Append the source's events (and, if asked, every frame) to a JSON Lines file under
    the server's sink directory (``<data_dir>/sinks``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["jsonl"] = "jsonl"
    file: str = Field(description="A file name (no directories) under the sink directory.")
    frames: bool = Field(default=False, description="Also write every processed frame.")

    @field_validator("file")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _SINK_NAME.match(value) or ".." in value:
            raise ValueError("a plain file name: letters, digits, '_', '-', '.'")
        return value


class SourceRequest(BaseModel):
    """``POST /v1/sources``: what to pull, what to run on it, what to do with the results."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    url: str | None = Field(
        default=None,
        description="rtsp://, rtmp://, http(s):// (HLS playlist or MJPEG) of the camera.",
    )
    path: str | None = Field(
        default=None, description="A video file under VISOR_INPUT_ROOTS, read like a camera."
    )
    format: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_]{1,32}$",
        description="The FFmpeg demuxer when the stream does not say (mpjpeg for MJPEG).",
    )
    loop: bool = Field(
        default=True, description="A file: start again at its end (else the source ends)."
    )
    plugin: str | None = None
    tool: str | None = None
    pipeline: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    sample: LiveSample = Field(default_factory=lambda: LiveSample.model_validate({}))
    analytics: AnalyticsSpec = Field(default_factory=lambda: AnalyticsSpec.model_validate({}))
    sinks: list[JsonlSink] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _one_of_each(self) -> SourceRequest:
        if (self.url is None) == (self.path is None):
            raise ValueError("give the source as url or path, not both or neither")
        if self.url is not None and urlsplit(self.url).scheme.lower() not in URL_SCHEMES:
            raise ValueError(f"url schemes: {', '.join(sorted(URL_SCHEMES))}")
        if (self.plugin is None) == (self.pipeline is None):
            raise ValueError("name a plugin (and tool) or a pipeline, not both or neither")
        if self.pipeline is not None and (self.tool is not None or self.args):
            raise ValueError("a pipeline's steps carry their own tools and args")
        return self


class SourceStats(BaseModel):
    """Live numbers of a running source (kept on its row, readable on any server)."""

    frames_in: int = Field(default=0, description="Sampled frames the decoder delivered.")
    frames_out: int = Field(default=0, description="Frames the tool or pipeline processed.")
    dropped: int = Field(default=0, description="Frames superseded by a newer one (latest wins).")
    frame_errors: dict[str, int] = Field(default_factory=dict)
    rate_limited: int = Field(default=0, description="Frames not run: over the owner key's rate.")
    fps_in: float = 0.0
    fps_out: float = 0.0
    latency_ms: dict[str, float] = Field(
        default_factory=dict, description="Capture to processed, p50 and p99 of recent frames."
    )
    reconnects: int = 0
    gaps: list[dict[str, Any]] = Field(
        default_factory=list, description="The last reconnections: when, and the seconds lost."
    )
    resumes: int = Field(
        default=0, description="Times another run (a restart) took the source over."
    )
    connected_once: bool = False
    video: dict[str, Any] | None = None
    last_frame: dict[str, Any] | None = Field(
        default=None, description="The newest processed frame: its number, time, result, analytics."
    )
    summary: dict[str, Any] = Field(default_factory=dict)
    events: int = 0


class Source(BaseModel):
    id: str
    name: str | None
    owner: str | None = None
    state: SourceState
    spec: dict[str, Any]
    stats: SourceStats
    error: dict[str, Any] | None = None
    worker: str | None = Field(default=None, description="The server running it now.")
    created_at: str
    updated_at: str


class SourceList(BaseModel):
    sources: list[Source]
