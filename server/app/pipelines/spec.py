"""The pipeline spec: a small declarative chain of named tool steps (JSON, or YAML).

A step runs ``plugin.tool`` with static ``args``; it takes the pipeline's input image, or
(``for_each``) each region an earlier step found, cropped with ``padding``; ``args_from``
fills arguments from fields of earlier results. References name earlier steps, so a spec is
a small graph; :mod:`app.pipelines.plan` checks it against the installed tools.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.errors import ErrorCode, VisorError
from app.pipelines import documents

#: Step ids and pipeline names: short, URL- and tool-name-safe.
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
#: Pipeline names that are paths of their own under /v1/pipelines.
RESERVED_NAMES = frozenset({"run"})


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=NAME_PATTERN, description="The step's name, unique in the pipeline.")
    tool: str = Field(min_length=1, description="'plugin.tool' (or 'plugin' for its default tool).")
    args: dict[str, Any] = Field(default_factory=dict, description="Static tool arguments.")
    for_each: str | None = Field(
        default=None,
        min_length=1,
        description="'step' or 'step.path.to.list': run once per region (an object with a "
        "'box') that step found, on the image cropped to it.",
    )
    padding: int = Field(default=0, ge=0, le=4096, description="Pixels added around a crop.")
    args_from: dict[str, str] = Field(
        default_factory=dict,
        description="Argument name -> 'step.path' of a field in an earlier result.",
    )

    @property
    def plugin_name(self) -> str:
        return self.tool.split(".", 1)[0]

    @property
    def tool_name(self) -> str | None:
        parts = self.tool.split(".", 1)
        return parts[1] if len(parts) == 2 else None

    def references(self) -> set[str]:
        """The steps this one reads from."""
        refs = {ref.split(".", 1)[0] for ref in self.args_from.values()}
        if self.for_each:
            refs.add(self.for_each.split(".", 1)[0])
        return refs


class PipelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str = ""
    steps: list[Step] = Field(min_length=1, max_length=32)

    @model_validator(mode="before")
    @classmethod
    def _not_too_deep(cls, data: Any) -> Any:
        documents.check_depth(data)  # every door's spec, however it arrived (JSON, YAML, inline)
        return data

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value in RESERVED_NAMES:
            raise ValueError(f"{value!r} is reserved (POST /v1/pipelines/run runs an inline spec)")
        return value


def parse_spec(text: str | bytes) -> PipelineSpec:
    """A spec from JSON or YAML text; a ValidationError envelope when it is neither, or
    when it is too deep or too big once its YAML aliases are expanded."""
    return spec_from_data(documents.load(text))


def spec_from_data(data: Any) -> PipelineSpec:
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"path": "/" + "/".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ][:10]
        raise VisorError(
            f"invalid pipeline spec: {problems[0]['message']} at {problems[0]['path']}",
            code=ErrorCode.INVALID_INPUT,
            details={"errors": problems},
        ) from exc
