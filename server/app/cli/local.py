"""In-process Visor for the CLI: the same services the server builds, without HTTP.

``visor run`` and ``visor plugins`` use this by default, so a tool run from the shell goes
through the same PluginRegistry, executor and ToolRunner as a server call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from app.plugins.loader.plugin_loader import PluginSource
from app.plugins.loader.plugin_registry import PluginRegistry
from app.plugins.runtime.factory import build_executor
from app.services.plugin_management_service import PluginManagementService
from app.settings import Settings


@contextmanager
def local_services(
    settings: Settings, sources: Sequence[PluginSource] | None = None
) -> Iterator[PluginManagementService]:
    """Load and start the plugins; stop them (and their workers) on exit."""
    registry = PluginRegistry()
    service = PluginManagementService.from_settings(
        settings, registry, build_executor(settings, registry), sources=sources
    )
    try:
        service.load()
        yield service
    finally:
        service.shutdown(settings.shutdown_timeout_s)
