"""In-process Visor for the CLI: the same services the server builds, without HTTP.

``visor run`` and ``visor plugins`` use this by default, so a tool run from the shell goes
through the same PluginRegistry, executor and ToolRunner as a server call. Plugins are
loaded (imported and validated) but not started: ToolRunner starts the one a call needs,
so ``visor plugins`` starts no worker and ``visor run`` only the chosen plugin's.
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
    settings: Settings, sources: Sequence[PluginSource] | None = None, *, start: bool = False
) -> Iterator[PluginManagementService]:
    """Load the plugins (and start them all with ``start=True``); stop workers on exit."""
    from app.models.service import ModelService

    registry = PluginRegistry()
    service = PluginManagementService.from_settings(
        settings, registry, build_executor(settings, registry), sources=sources
    )
    ModelService.from_settings(settings, service)  # models in the repository are plugins too
    try:
        service.load(start=start)
        yield service
    finally:
        service.shutdown(settings.shutdown_timeout_s)
