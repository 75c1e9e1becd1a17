"""Plugins that break the contract in every way an in-process plugin can."""

from __future__ import annotations

import time

from pydantic import BaseModel

from app.plugins.base import Plugin, tool


class Count(BaseModel):
    count: int


class RaisesPlugin(Plugin):
    name = "raises"
    version = "1.0.0"
    description = "Its tool always raises."

    @tool
    def boom(self) -> dict:
        raise RuntimeError("boom: the tool exploded")


class ReturnsNonePlugin(Plugin):
    name = "returns_none"
    version = "1.0.0"

    @tool
    def nothing(self):  # type: ignore[no-untyped-def]
        return None


class ReturnsListPlugin(Plugin):
    name = "returns_list"
    version = "1.0.0"

    @tool
    def listing(self):  # type: ignore[no-untyped-def]
        return [1, 2, 3]


class NotJsonPlugin(Plugin):
    name = "not_json"
    version = "1.0.0"

    @tool
    def opaque(self) -> dict:
        return {"value": object()}


class BadOutputPlugin(Plugin):
    name = "bad_output"
    version = "1.0.0"

    @tool(
        output_schema={
            "type": "object",
            "properties": {"count": {"type": "integer"}},
            "required": ["count"],
        }
    )
    def count(self) -> dict:
        return {"count": "not a number"}


class SlowConstructorPlugin(Plugin):
    name = "slow_constructor"
    version = "1.0.0"

    def __init__(self) -> None:
        time.sleep(3600)

    @tool
    def never(self) -> dict:
        return {}


class NoToolsPlugin(Plugin):
    name = "no_tools"
    version = "1.0.0"


class NotAPlugin:
    name = "not_a_plugin"


class StartupFailsPlugin(Plugin):
    name = "startup_fails"
    version = "1.0.0"

    def startup(self) -> None:
        raise OSError("model file missing")

    @tool
    def run(self) -> dict:
        return {}


class DuplicateEchoPlugin(Plugin):
    name = "echo"
    version = "9.9.9"
    description = "Claims a name that is already taken."

    @tool
    def echo(self) -> dict:
        return {}
