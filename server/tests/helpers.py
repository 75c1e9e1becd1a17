"""Helpers shared by the test modules (import as ``from helpers import ...``)."""

from __future__ import annotations

import base64
import io

from PIL import Image

from app.plugins.loader.plugin_loader import PluginSource, discover

TEST_GROUP = "visor.test_plugins"

#: Test plugins the suite's operator runs in the server process (settings, not the plugin,
#: decide that): they test ToolRunner's contract, not isolation, and start instantly.
IN_PROCESS_TEST_PLUGINS = (
    "echo",
    "raises",
    "returns_none",
    "returns_list",
    "not_json",
    "bad_output",
    "slow_constructor",
    "startup_fails",
    "picky",
    "jobtest",
    "slow",
    "size",
    "finder",
    "quota",
)


def plugin_sources(*names: str) -> list[PluginSource]:
    """Sources from the installed test distribution's ``visor.test_plugins`` group."""
    available = {s.key: s for s in discover(TEST_GROUP)}
    missing = [n for n in names if n not in available]
    if missing:
        raise LookupError(
            f"test plugins not installed: {missing}; pip install -e server/tests/plugins"
        )
    return [available[n] for n in names]


def builtin_sources(*names: str) -> list[PluginSource]:
    available = {s.key: s for s in discover()}
    return [available[n] for n in names]


def png_bytes(
    size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (10, 200, 30)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
