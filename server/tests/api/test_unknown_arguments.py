"""A misspelled option is refused, naming itself and what the tool accepts, on every door.

Generated input schemas say ``additionalProperties: false``; a plugin author who wants
extra keys opts out in the model (``model_config = ConfigDict(extra="allow")``).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import b64, builtin_sources, plugin_sources, png_bytes
from pydantic import BaseModel, ConfigDict

from app.plugins.base import Plugin, tool
from app.plugins.loader.plugin_loader import source_for_class
from app.plugins.testing import run_tool

ACCEPTED = "accepted: dominant_colors, image, mime_type"


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str = "x"


class Closed(BaseModel):
    text: str = "x"


class Keys(Plugin):
    """Two tools: one refuses unknown keys (the default), one opted out and sees them."""

    name = "keys"
    version = "1.0.0"
    description = "Reports the keys it was given."

    @tool(default=True)
    def closed(self, args: Closed) -> dict[str, Any]:
        return {"keys": sorted(args.model_dump())}

    @tool
    def open(self, args: Open) -> dict[str, Any]:
        return {"keys": sorted(args.model_dump())}


@pytest.fixture
def client(make_client: Any) -> TestClient:
    sources = [*builtin_sources("image_info"), *plugin_sources("echo")]
    client: TestClient = make_client(sources)
    return client


def test_generated_schemas_refuse_unknown_keys_unless_the_model_opts_out() -> None:
    specs = Keys.tool_specs()
    assert specs["closed"].input_schema["additionalProperties"] is False
    assert specs["open"].input_schema["additionalProperties"] is True


def test_analyze_names_the_unknown_argument_and_the_accepted_ones(client: TestClient) -> None:
    body = {"plugin": "image_info", "image": b64(png_bytes()), "args": {"dominant_colours": 1}}
    response = client.post("/v1/analyze", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"]["code"] == "invalid_input"
    assert "unknown argument 'dominant_colours'" in error["message"]
    assert ACCEPTED in error["message"]
    (problem,) = error["details"]["errors"]
    assert problem["unexpected"] == ["dominant_colours"]
    assert problem["accepted"] == ["dominant_colors", "image", "mime_type"]


def test_multipart_upload_refuses_a_misspelled_option(client: TestClient) -> None:
    response = client.post(
        "/v1/plugins/image_info/tools/describe/run",
        files={"file": ("a.png", png_bytes(), "image/png")},
        data={"args": '{"dominant": 2}'},
    )
    assert response.status_code == 400
    assert "unknown argument 'dominant'" in response.json()["error"]["message"]


def test_the_opted_out_tool_still_takes_extra_keys() -> None:
    result, error = run_tool(Keys, "open", {"text": "a", "extra": 1})
    assert error == {}
    assert result == {"keys": ["extra", "text"]}
    result, error = run_tool(Keys, "closed", {"text": "a", "extra": 1})
    assert result == {}
    assert error["error"]["message"] == (
        "invalid input for keys.closed: unknown argument 'extra'; accepted: text"
    )


def test_manifest_default_is_the_tool_that_runs_when_none_is_named(make_client: Any) -> None:
    client = make_client([*builtin_sources("image_info"), source_for_class(Keys)])
    only = client.get("/v1/plugins/image_info").json()
    assert only["default_tool"] == "describe"
    assert [t["default"] for t in only["tools"]] == [True]  # its only tool
    keys = client.get("/v1/plugins/keys").json()
    assert {t["name"]: t["default"] for t in keys["tools"]} == {"closed": True, "open": False}
