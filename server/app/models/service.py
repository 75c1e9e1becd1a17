"""ModelService: the model repository as plugins of a running server.

It is a plugin source (every model in the repository becomes a plugin when plugins load,
and dropped files are imported then), and it keeps the registry in step when a model is
registered or removed while the server runs. Calls never come here: they go through
PluginManagementService and ToolRunner like any other plugin's.
"""

from __future__ import annotations

from pathlib import Path

from app.errors import ErrorCode, VisorError
from app.inference.session import configured_threads
from app.models.plugin import ModelPlugin, ModelPluginConfig, plugin_class
from app.models.repository import ModelInfo, ModelRepository, Registered, model_not_found
from app.plugins.loader.plugin_loader import PluginSource
from app.plugins.loader.plugin_registry import PluginState
from app.plugins.runtime.process.config import auto_workers
from app.services.plugin_management_service import PluginManagementService
from app.settings import Settings

#: The ``distribution`` of model plugins' sources (shown nowhere; tells them apart).
MODELS_DISTRIBUTION = "visor-models"


class ModelService:
    def __init__(
        self, repository: ModelRepository, plugins: PluginManagementService, settings: Settings
    ) -> None:
        self.repository = repository
        self._plugins = plugins
        self._settings = settings

    @classmethod
    def from_settings(cls, settings: Settings, plugins: PluginManagementService) -> ModelService:
        service = cls(ModelRepository.from_settings(settings), plugins, settings)
        plugins.add_sources(service.sources)
        return service

    # -- the plugin side --------------------------------------------------------------------

    def _config(self, name: str) -> ModelPluginConfig:
        settings = self._settings
        workers = settings.plugin_workers.get(name) or settings.workers_per_plugin or auto_workers()
        return ModelPluginConfig(
            root=str(Path(self.repository.store.root).resolve()),
            name=name,
            threads=configured_threads(settings, workers),
            providers=tuple(settings.onnx_providers),
            blob_url=settings.blob_url,
        )

    def source(self, name: str) -> PluginSource:
        config = self._config(name)
        return PluginSource(
            name, config.origin(), MODELS_DISTRIBUTION, lambda: plugin_class(config)
        )

    def sources(self) -> list[PluginSource]:
        """Every model as a plugin source, after importing dropped files (plugin load)."""
        self.repository.import_drops()
        return [self.source(name) for name in self.repository.names()]

    # -- operations -------------------------------------------------------------------------

    def register(
        self, name: str, model_file: Path, manifest_text: str | bytes, *, make_default: bool = True
    ) -> Registered:
        if self._taken_by_a_plugin(name):
            raise VisorError(
                f"{name!r} is already the name of a plugin; choose another model name",
                code=ErrorCode.CONFLICT,
                details={"model": name},
            )
        version, report, first = self.repository.register(
            name, model_file, manifest_text, make_default=make_default
        )
        record = self._plugins.registry.get(name)
        if first or record is None or record.state is PluginState.UNAVAILABLE:
            self._plugins.add_plugin(self.source(name))
        else:
            self._plugins.registry.set_version(name, str(self.repository.store.default(name)))
        return Registered(model=self.info(name), version=version, check=report)

    def _taken_by_a_plugin(self, name: str) -> bool:
        """An installed plugin (not a model) has this name: a model may not take it."""
        record = self._plugins.registry.get(name)
        if record is None:
            return False
        cls = record.plugin_cls
        return not (isinstance(cls, type) and issubclass(cls, ModelPlugin))

    def info(self, name: str) -> ModelInfo:
        info = self.repository.info(name)
        health = self._plugins.registry.health(name)
        return info.model_copy(update={"state": health.state if health else None})

    def list(self) -> list[ModelInfo]:
        return [self.info(name) for name in self.repository.names()]

    def remove(self, name: str, version: int | None = None) -> None:
        if not self.repository.store.versions(name):
            raise model_not_found(name)
        gone = self.repository.remove(name, version)
        if gone:
            self._plugins.remove_plugin(name)
        else:
            self._plugins.registry.set_version(name, str(self.repository.store.default(name)))
