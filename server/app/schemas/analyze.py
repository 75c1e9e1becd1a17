"""``POST /v1/analyze``: one tool on one input. ``POST /v1/jobs`` takes the same request
(:class:`app.jobs.models.JobSubmission` extends it) and a finished job's result has the
response's shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

#: An 8x8 red PNG: the documented example request runs as is ("Try it out" in /docs).
EXAMPLE_IMAGE = (
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAFUlEQVR42mM8ISfHgA0w"
    "MeAAg1MCANDKARQfGKMRAAAAAElFTkSuQmCC"
)


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"plugin": "image_info", "image": EXAMPLE_IMAGE}]},
    )

    plugin: str = Field(description="Plugin name, e.g. image_info.")
    tool: str | None = Field(None, description="Tool name; default: the plugin's default tool.")
    image: str | None = Field(
        None,
        description="The image file, base64-encoded (line breaks and a data: URL are fine).",
    )
    image_ref: str | None = Field(None, description="Instead of image: an id from POST /v1/files.")
    image_url: str | None = Field(
        None, description="Instead of image: a public http(s) URL (when the server allows it)."
    )
    image_path: str | None = Field(
        None, description="Instead of image: a file under the server's VISOR_INPUT_ROOTS."
    )
    mime_type: str | None = Field(
        None, description="Mime type of the image; read from its bytes when omitted."
    )
    args: dict[str, Any] = Field(default_factory=dict, description="Tool-specific options.")
    render: StrictBool = Field(
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
