"""Test helpers for plugin authors: run a plugin's tools exactly the way the server does.

The harness loads plugins through the same loader (import, contract validation,
construction, UNAVAILABLE on failure) and calls them through the real
:class:`~app.plugins.runtime.tool_runner.ToolRunner` — input schema validation, startup
hook, execution, output schema validation, error envelopes and metrics included. A test
that passes here exercises what production runs::

    from app.plugins.testing import PluginHarness, image_payload

    def test_thumbnail():
        with PluginHarness(ThumbnailPlugin) as harness:
            result = harness.call("thumbnail", image_payload(img, max_side=64))
            assert result["width"] == 64

Plugins may be given as a class, an instance or the name of an installed ``visor.plugins``
entry point (which also proves the packaging works). By default tools run on the
in-process executor; pass ``executor=`` (or ``app_executor=True`` for the one the server
builds from its settings) to run them isolated.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from typing import Any

from PIL import Image

from app.plugins.base import Plugin
from app.plugins.loader.plugin_loader import (
    ENTRY_POINT_GROUP,
    PluginSource,
    discover,
    source_for_class,
)
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.executor import Executor, call_context
from app.plugins.runtime.tool_runner import ToolRunner
from app.services.plugin_management_service import PluginManagementService

__all__ = [
    "PluginHarness",
    "ToolCallFailed",
    "image_payload",
    "run_tool",
]

PluginLike = type[Plugin] | Plugin | str
Progress = list[tuple[float, str | None]]


class ToolCallFailed(AssertionError):
    """A tool call a test expected to succeed returned an error envelope."""

    def __init__(self, error: dict[str, Any]) -> None:
        info = error.get("error", {})
        code = info.get("details", {}).get("code")
        super().__init__(f"{info.get('type')}/{code}: {info.get('message')}")
        self.error = error


def image_payload(
    image: Image.Image | bytes, *, image_format: str = "PNG", **args: Any
) -> dict[str, Any]:
    """A tool payload: ``image`` (a Pillow image is encoded as ``image_format``) + ``args``.

    Bytes are sent as they are, with ``mime_type`` from ``args`` (default image/png).
    """
    if isinstance(image, Image.Image):
        buffer = io.BytesIO()
        image.save(buffer, format=image_format)
        data, mime = buffer.getvalue(), Image.MIME.get(image_format.upper(), "image/png")
    else:
        data, mime = image, args.pop("mime_type", "image/png")
    return {"image": base64.b64encode(data).decode("ascii"), "mime_type": mime, **args}


def _source(plugin: PluginLike, group: str) -> PluginSource:
    if isinstance(plugin, str):
        for source in discover(group):
            if source.key == plugin:
                return source
        raise LookupError(
            f"no {group!r} entry point named {plugin!r}; is the package installed "
            "(pip install -e .)?"
        )
    if isinstance(plugin, Plugin):
        cls = type(plugin)
        origin = f"{cls.__module__}:{cls.__qualname__}"
        return PluginSource(cls.name or cls.__name__, origin, None, lambda: plugin)
    return source_for_class(plugin)


class PluginHarness:
    """A private registry + the real ToolRunner for a handful of plugins (a context manager)."""

    def __init__(
        self,
        *plugins: PluginLike,
        executor: Executor | None = None,
        app_executor: bool = False,
        timeout_s: float | None = 60.0,
        group: str = ENTRY_POINT_GROUP,
    ) -> None:
        self._sources = [_source(p, group) for p in plugins]
        self._executor = executor
        self._app_executor = app_executor
        self._timeout_s = timeout_s
        self.registry = PluginRegistry()
        self.runner: ToolRunner | None = None
        #: Progress the last call reported, as ``(fraction, message)`` pairs.
        self.progress: Progress = []

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> PluginHarness:
        executor = self._executor
        if executor is None and self._app_executor:
            from app.plugins.runtime.factory import build_executor
            from app.settings import Settings

            executor = build_executor(Settings(_env_file=None))  # type: ignore[call-arg]
        from app.plugins.runtime.in_process import InProcessExecutor

        if executor is None:
            executor = InProcessExecutor()
        self._executor = executor
        # Load and start exactly as the server does (startup hooks, UNAVAILABLE/FAILED
        # states); plugins are built in this process when the executor runs them here.
        PluginManagementService(
            self.registry,
            executor,
            sources=self._sources,
            force_in_process=isinstance(executor, InProcessExecutor),
        ).load()
        self.runner = ToolRunner(
            registry=self.registry, executor=executor, default_timeout_s=self._timeout_s
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(5.0)

    # -- inspection -------------------------------------------------------------------------

    def state(self, plugin: str) -> PluginState | None:
        return self.registry.state(plugin)

    def reason(self, plugin: str) -> str | None:
        record = self.registry.get(plugin)
        return record.reason if record is not None else None

    def names(self) -> Iterable[str]:
        return self.registry.names()

    # -- calls ------------------------------------------------------------------------------

    def run(
        self,
        plugin: str,
        payload: dict[str, Any] | None = None,
        tool: str | None = None,
        **args: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``ToolRunner.run`` verbatim: ``(result, error)``, exactly one non-empty.

        ``payload`` and keyword ``args`` are merged; progress is kept in :attr:`progress`.
        """
        if self.runner is None:
            raise RuntimeError("use PluginHarness as a context manager: `with PluginHarness(...)`")
        merged = {**(payload or {}), **args}
        events: Progress = []
        with call_context(progress=lambda fraction, message: events.append((fraction, message))):
            result, error = self.runner.run(plugin, merged, tool)
        self.progress = events
        return result, error

    def call(
        self,
        plugin_or_tool: str,
        payload: dict[str, Any] | None = None,
        tool: str | None = None,
        **args: Any,
    ) -> dict[str, Any]:
        """Run a tool and return its result; raise :class:`ToolCallFailed` on an error.

        With a single plugin loaded, the first argument may be the tool name alone.
        """
        plugin, tool = self._split(plugin_or_tool, tool)
        result, error = self.run(plugin, payload, tool, **args)
        if error:
            raise ToolCallFailed(error)
        return result

    def error(
        self,
        plugin_or_tool: str,
        payload: dict[str, Any] | None = None,
        tool: str | None = None,
        **args: Any,
    ) -> dict[str, Any]:
        """Run a tool that should fail; return the envelope's ``error`` section."""
        plugin, tool = self._split(plugin_or_tool, tool)
        result, error = self.run(plugin, payload, tool, **args)
        if not error:
            raise AssertionError(f"expected {plugin}.{tool or '<default>'} to fail, got {result}")
        section: dict[str, Any] = error["error"]
        return section

    def _split(self, plugin_or_tool: str, tool: str | None) -> tuple[str, str | None]:
        names = self.registry.names()
        if plugin_or_tool in names:
            return plugin_or_tool, tool
        plugin, dot, tool_name = plugin_or_tool.partition(".")
        if dot and plugin in names:
            return plugin, tool_name
        if len(names) == 1 and tool is None:
            return names[0], plugin_or_tool
        return plugin_or_tool, tool


def run_tool(
    plugin: PluginLike,
    tool: str | None = None,
    payload: dict[str, Any] | None = None,
    **kwargs: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One call through a fresh harness: ``(result, error)`` as ``ToolRunner.run`` returns."""
    with PluginHarness(plugin, **kwargs) as harness:
        name = next(iter(harness.names()))
        return harness.run(name, payload, tool)
