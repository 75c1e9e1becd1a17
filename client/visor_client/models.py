"""Typed answers, in the server's shared result vocabulary.

Models accept fields they do not know (a newer server may add some), and every answer
keeps what the server sent in ``raw``. Regions follow the vocabulary of every built-in
tool: ``box`` ``[x, y, width, height]``, ``polygon`` ``[[x, y], ...]``, ``confidence`` in
``[0, 1]``, ``text``; pixels of the image as displayed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from visor_client.errors import JobNotFinished, VisorError, error_from_envelope


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Box(NamedTuple):
    """``[x, y, width, height]`` in pixels; ``x, y`` is the top-left corner."""

    x: int
    y: int
    width: int
    height: int

    @property
    def corners(self) -> tuple[int, int, int, int]:
        """``(x1, y1, x2, y2)``, the form PIL's ``crop`` and most drawing APIs take."""
        return (self.x, self.y, self.x + self.width, self.y + self.height)

    @property
    def area(self) -> int:
        return self.width * self.height


class Region(_Model):
    """Something a tool found: any object of a result that has a ``box``."""

    box: Box
    polygon: list[tuple[int, int]] | None = None
    confidence: float | None = None
    text: str | None = None
    label: str | None = None


def _regions_in(value: Any) -> list[Region]:
    if not isinstance(value, list):
        return []
    return [
        Region.model_validate(item) for item in value if isinstance(item, dict) and "box" in item
    ]


def _walk_regions(value: Any) -> list[Region]:
    found: list[Region] = []
    if isinstance(value, dict):
        if "box" in value:
            found.append(Region.model_validate(value))
        for child in value.values():
            found.extend(_walk_regions(child))
    elif isinstance(value, list):
        for child in value:
            found.extend(_walk_regions(child))
    return found


class Result(_Model):
    """The answer of one tool call: ``result`` (the tool's dict) with region helpers.

    ``result.faces[0].box``, ``result.barcodes[0].text``, ``result.text``; any other list of
    regions by name with ``result.regions("name")``; every region anywhere with
    ``result.regions()``. ``raw`` is the response body as the server sent it.
    """

    result: dict[str, Any]
    plugin: str | None = None
    tool: str | None = None
    elapsed_ms: float | None = None
    rendered_image: str | None = Field(
        default=None, description="With render=True: the findings drawn over the image, PNG base64."
    )
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Result:
        return cls.model_validate({**body, "raw": body})

    def regions(self, name: str | None = None) -> list[Region]:
        """The regions listed under ``name`` in the result, or, without a name, every
        object anywhere in the result that has a ``box``."""
        if name is None:
            return _walk_regions(self.result)
        return _regions_in(self.result.get(name))

    @property
    def faces(self) -> list[Region]:
        return self.regions("faces")

    @property
    def people(self) -> list[Region]:
        return self.regions("people")

    @property
    def barcodes(self) -> list[Region]:
        return self.regions("barcodes")

    @property
    def words(self) -> list[Region]:
        return self.regions("words")

    @property
    def lines(self) -> list[Region]:
        return self.regions("lines")

    @property
    def text(self) -> str | None:
        """The text a tool read (OCR), else the barcodes' texts joined by newlines."""
        text = self.result.get("text")
        if isinstance(text, str):
            return text
        read = [b.text for b in self.barcodes if b.text is not None]
        return "\n".join(read) if read else None

    def __getitem__(self, key: str) -> Any:
        return self.result[key]


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(_Model):
    """A job as the server reports it; ``result`` is the tool's dict once it succeeded."""

    id: str
    plugin: str
    tool: str | None = None
    status: JobStatus
    attempts: int = 0
    max_attempts: int | None = None
    progress: float | None = None
    progress_message: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = Field(default=None, description="The envelope's error section.")
    replayed: bool = Field(
        default=False,
        exclude=True,
        description="True when a retried submit got the job its first attempt made.",
    )

    @property
    def done(self) -> bool:
        return self.status.is_terminal

    def exception(self) -> VisorError | None:
        """The job's error as the exception a synchronous call would have raised."""
        return None if self.error is None else error_from_envelope({"error": self.error})

    def output(self) -> Result:
        """The finished job's result as a :class:`Result`; raises the job's error if it
        failed or was cancelled, :class:`~visor_client.errors.JobNotFinished` before that."""
        if self.status is JobStatus.SUCCESS:
            body = {"result": self.result or {}, "plugin": self.plugin, "tool": self.tool}
            return Result.from_body(body)
        failure = self.exception()
        if failure is not None:
            raise failure
        raise JobNotFinished(
            f"job {self.id} is {self.status.value}", details={"status": self.status.value}
        )


class JobPage(_Model):
    jobs: list[Job]
    next_cursor: str | None = None


class JobEvent(_Model):
    """One Server-Sent Event of a job: ``status`` or ``progress``, with the job as it is."""

    kind: str
    job: Job


class FileInfo(_Model):
    """An uploaded file: pass it (or its ``id``) as ``image_ref``."""

    id: str
    filename: str | None = None
    mime_type: str
    size_bytes: int
    sha256: str
    created_at: str
    expires_at: str


class FileList(_Model):
    files: list[FileInfo]
    used_bytes: int
    quota_bytes: int


class ToolInfo(_Model):
    name: str
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] = Field(default_factory=dict)


class Plugin(_Model):
    """A plugin's health as listed by ``plugins()``: state, reason, metrics."""

    name: str
    state: str
    description: str | None = None
    version: str | None = None
    reason: str | None = None


class Manifest(_Model):
    """A plugin's manifest: its tools with their input and output JSON Schemas."""

    name: str
    default_tool: str | None = None
    tools: list[ToolInfo] = Field(default_factory=list)


class Pipeline(_Model):
    """A saved pipeline: its name and spec (``spec["steps"]``)."""

    name: str
    spec: dict[str, Any]


class PipelineResult(_Model):
    """A pipeline run: each step's result under its id, and per-step timings."""

    pipeline: str | None = None
    steps: dict[str, Any]
    timings_ms: dict[str, float] = Field(default_factory=dict)
    elapsed_ms: float | None = None
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    def step(self, name: str) -> Result:
        """One step's result as a :class:`Result` (a ``for_each`` step: its first region's)."""
        value = self.steps[name]
        if isinstance(value, list):
            value = value[0].get("result", {}) if value else {}
        return Result.from_body({"result": value})


class ApiKey(_Model):
    """An API key as listed: never its secret."""

    id: str
    name: str
    scope: str
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None


class KeyCreated(_Model):
    """A new key and its secret, which the server shows this once only."""

    key: ApiKey
    secret: str


class StreamAnswer(_Model):
    """One answer of a live stream: frame number, frames dropped since the previous
    answer, and the result or the error of that frame."""

    frame: int | None = None
    dropped: int = 0
    plugin: str | None = None
    tool: str | None = None
    elapsed_ms: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def output(self) -> Result:
        """The frame's result as a :class:`Result`; raises the frame's error instead."""
        if self.error is not None:
            raise error_from_envelope({"error": self.error})
        return Result.from_body(
            {
                "result": self.result or {},
                "plugin": self.plugin,
                "tool": self.tool,
                "elapsed_ms": self.elapsed_ms,
            }
        )
