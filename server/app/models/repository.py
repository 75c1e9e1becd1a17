"""The model repository: register (check, then store), list and remove model versions.

Works on the store alone, so the CLI can manage a model directory without a server; the
server's :class:`~app.models.service.ModelService` adds the plugin side.
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from app.errors import ErrorCode, VisorError
from app.models.checks import ModelRejected, check_model
from app.models.manifest import Manifest, ManifestError, Task, check_name, parse_manifest
from app.models.store import ModelStore, open_model_store
from app.settings import Settings
from app.units import human_bytes, limit_text

log = logging.getLogger("visor.models")


class ModelVersionInfo(BaseModel):
    version: int
    default: bool
    task: Task
    labels: list[str]
    input: dict[str, Any] = Field(description="Width, height, layout, colour and resizing.")
    decoder: str = Field(description="The output decoder family.")
    size_bytes: int


class ModelInfo(BaseModel):
    name: str
    task: Task
    default_version: int
    versions: list[ModelVersionInfo]
    plugin: str = Field(description="The plugin that serves it (its name).")
    tool: str = Field(description="The plugin's tool (the task).")
    state: str | None = Field(None, description="The plugin's state, when a server serves it.")


class Registered(BaseModel):
    """The answer to a registration: the model, the new version, what the check saw."""

    model: ModelInfo
    version: int
    check: dict[str, Any]


def model_not_found(name: str, version: int | None = None) -> VisorError:
    what = f"model {name!r}" + (f" has no version {version}" if version else " is not registered")
    return VisorError(what, code=ErrorCode.NOT_FOUND, details={"model": name, "version": version})


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME@VERSION``."""
    name, at, version = ref.partition("@")
    if not at:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise VisorError(
            f"{ref!r}: a version is a positive number, as in {name}@2",
            code=ErrorCode.INVALID_INPUT,
            details={"field": "version"},
        )
    return name, int(version)


class ModelRepository:
    def __init__(
        self,
        store: ModelStore,
        *,
        providers: list[str],
        max_bytes: int,
        check_memory_mb: int,
        check_timeout_s: float,
    ) -> None:
        self.store = store
        self._providers = providers
        self._max_bytes = max_bytes
        self._check_memory_mb = check_memory_mb
        self._check_timeout_s = check_timeout_s
        self._lock = threading.Lock()  # one registration at a time per server

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRepository:
        return cls(
            open_model_store(settings.resolved_model_dir(), settings.blob_url, settings),
            providers=list(settings.onnx_providers),
            max_bytes=settings.model_max_bytes,
            check_memory_mb=settings.model_check_memory_mb,
            check_timeout_s=settings.model_check_timeout_s,
        )

    # -- registration -----------------------------------------------------------------------

    def prepare(self, name: str, model_file: Path, manifest_text: str | bytes) -> Manifest:
        """Checks that need no model run: the name, the manifest, the file's size."""
        try:
            check_name(name)
            manifest = parse_manifest(manifest_text)
        except ManifestError as exc:
            raise ModelRejected("invalid_manifest", str(exc)) from None
        size = model_file.stat().st_size
        if size > self._max_bytes:
            raise ModelRejected(
                "too_large",
                f"the model file is {human_bytes(size)}; "
                f"{limit_text(human_bytes(self._max_bytes), 'VISOR_MODEL_MAX_BYTES')}",
                limit_bytes=self._max_bytes,
            )
        if size == 0:
            raise ModelRejected("not_onnx", "the model file is empty")
        return manifest.model_copy(update={"name": name})

    def register(
        self,
        name: str,
        model_file: Path,
        manifest_text: str | bytes,
        *,
        make_default: bool = True,
    ) -> tuple[int, dict[str, Any], bool]:
        """Check and store a model as its next version: ``(version, check, first)``.

        ``first`` is True for a model new to the repository (it becomes its default).
        Nothing is stored when a check fails.
        """
        manifest = self.prepare(name, model_file, manifest_text)
        with self._lock:
            current = self.store.default(name)
            if current is not None:
                previous = self.store.manifest(name, current)
                if previous.task is not manifest.task:
                    raise ModelRejected(
                        "task_changed",
                        f"model {name!r} is a {previous.task.value} model; a new version must "
                        f"keep its task (register a {manifest.task.value} model under "
                        "another name)",
                    )
            report = check_model(
                model_file,
                manifest.model_dump_json(),
                providers=self._providers,
                memory_limit_mb=self._check_memory_mb,
                timeout_s=self._check_timeout_s,
            )
            version = self.store.add(name, model_file, manifest)
            if current is None or make_default:
                self.store.set_default(name, version)
        log.info("model %s: version %d registered", name, version)
        return version, report, current is None

    def import_drops(self) -> list[str]:
        """Register models dropped into the directory (``NAME.onnx`` + manifest).

        A checked drop moves into the repository; a refused one is renamed
        ``NAME.onnx.rejected`` with the reason in ``NAME.rejected.txt``.
        """
        imported = []
        for name, model_file, manifest_file in self.store.drops():
            try:
                self.register(name, model_file, manifest_file.read_bytes())
            except VisorError as exc:
                log.warning("model drop %s refused: %s", model_file.name, exc.message)
                model_file.with_name(f"{name}.rejected.txt").write_text(exc.message + "\n")
                shutil.move(model_file, model_file.with_name(f"{model_file.name}.rejected"))
                continue
            model_file.unlink(missing_ok=True)
            manifest_file.unlink(missing_ok=True)
            imported.append(name)
        return imported

    # -- reading and removing ---------------------------------------------------------------

    def names(self) -> list[str]:
        return self.store.names()

    def info(self, name: str) -> ModelInfo:
        default = self.store.default(name)
        if default is None:
            raise model_not_found(name)
        versions = []
        for version in self.store.versions(name):
            manifest = self.store.manifest(name, version)
            versions.append(
                ModelVersionInfo(
                    version=version,
                    default=version == default,
                    task=manifest.task,
                    labels=manifest.labels,
                    input=manifest.input.model_dump(mode="json", exclude={"normalization"}),
                    decoder=manifest.decoder.family,
                    size_bytes=self.store.model_size(name, version),
                )
            )
        task = next(v.task for v in versions if v.default)
        return ModelInfo(
            name=name,
            task=task,
            default_version=default,
            versions=versions,
            plugin=name,
            tool=task.value,
            state=None,
        )

    def remove(self, name: str, version: int | None = None) -> bool:
        """Remove a version (or the model); True when the whole model is gone.

        Removing the default version makes the newest remaining one the default.
        """
        with self._lock:
            versions = self.store.versions(name)
            if not versions:
                raise model_not_found(name)
            if version is not None and version not in versions:
                raise model_not_found(name, version)
            if version is None or versions == [version]:
                self.store.remove(name)
                return True
            if self.store.default(name) == version:
                self.store.set_default(name, max(v for v in versions if v != version))
            self.store.remove(name, version)
            return False
