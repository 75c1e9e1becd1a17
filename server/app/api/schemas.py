"""Response models the API documents (OpenAPI) beyond those the services define."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.errors import ErrorResponse
from app.plugins.loader.plugin_registry import PluginHealth, PluginState


class ToolManifest(BaseModel):
    name: str
    title: str | None = None
    description: str
    input_schema: dict[str, Any] = Field(
        description="What the tool receives (after the server resolved its image)."
    )
    arguments_schema: dict[str, Any] = Field(
        default_factory=dict,
        description="What a call may send: input_schema with the image forms this server "
        "accepts (image, image_ref, image_url, image_path), exactly one of them.",
    )
    output_schema: dict[str, Any]
    default: bool
    timeout_s: float | None
    hints: dict[str, bool] = Field(
        default_factory=dict,
        description="read_only, idempotent, open_world: what the tool does to the world.",
    )


class PluginManifest(BaseModel):
    name: str
    version: str
    description: str
    state: PluginState
    reason: str | None
    isolation: str
    default_tool: str | None
    tools: list[ToolManifest]


class PluginList(BaseModel):
    plugins: list[PluginHealth]


class Liveness(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str = Field(description="ready, or starting while plugins load.")
    plugins: dict[str, int] = Field(default_factory=dict, description="Plugins by state.")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can return."""
    return {status: {"model": ErrorResponse} for status in statuses}
