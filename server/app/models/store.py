"""Where model files and manifests live: a small interface and its local-disk implementation.

Layout under the model directory (``VISOR_MODEL_DIR``)::

    NAME/1/model.onnx   NAME/1/manifest.json   (version 1)
    NAME/2/...                                   (version 2)
    NAME/default                                 (the version calls get unless they pin one)

Manifests live beside their model rather than in a database table: the worker processes
that serve a model read both from here, so one place holds one truth, and a model
directory copied to another machine is complete. The :class:`ModelStore` protocol is the
seam for a shared blob store (PostgreSQL, S3) later.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from app.models.manifest import NAME_PATTERN, Manifest

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
DEFAULT_FILE = "default"
STAGING = ".staging"


class ModelStore(Protocol):
    def names(self) -> list[str]: ...
    def versions(self, name: str) -> list[int]: ...
    def default(self, name: str) -> int | None: ...
    def set_default(self, name: str, version: int) -> None: ...
    def manifest(self, name: str, version: int) -> Manifest: ...
    def model_bytes(self, name: str, version: int) -> bytes: ...
    def add(self, name: str, model_file: Path, manifest: Manifest) -> int: ...
    def remove(self, name: str, version: int | None = None) -> None: ...


class LocalModelStore:
    """Models as files under one directory; every change is an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def staging_dir(self) -> Path:
        """A fresh private directory for an upload being checked (removed by the caller)."""
        base = self.root / STAGING
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=base))

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if NAME_PATTERN.match(p.name) and self.versions(p.name)
        )

    def versions(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in folder.iterdir()
            if p.name.isdigit() and (p / MODEL_FILE).is_file() and (p / MANIFEST_FILE).is_file()
        )

    def default(self, name: str) -> int | None:
        try:
            version = int((self.root / name / DEFAULT_FILE).read_text().strip())
        except (OSError, ValueError):
            versions = self.versions(name)
            return versions[-1] if versions else None
        return version if (self.root / name / str(version) / MODEL_FILE).is_file() else None

    def set_default(self, name: str, version: int) -> None:
        target = self.root / name / DEFAULT_FILE
        temporary = target.with_name(f".{DEFAULT_FILE}.{os.getpid()}")
        temporary.write_text(f"{version}\n")
        os.replace(temporary, target)  # workers see the old or the new version, never half

    def manifest(self, name: str, version: int) -> Manifest:
        text = (self.root / name / str(version) / MANIFEST_FILE).read_text(encoding="utf-8")
        return Manifest.model_validate_json(text)

    def model_path(self, name: str, version: int) -> Path:
        return self.root / name / str(version) / MODEL_FILE

    def model_bytes(self, name: str, version: int) -> bytes:
        return self.model_path(name, version).read_bytes()

    def add(self, name: str, model_file: Path, manifest: Manifest) -> int:
        """Store a checked model as the next version (not yet the default)."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(dir=folder, prefix=".new-"))
        try:
            shutil.copyfile(model_file, staged / MODEL_FILE)
            (staged / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2), "utf-8")
            while True:
                existing = [int(p.name) for p in folder.iterdir() if p.name.isdigit()]
                version = max(existing, default=0) + 1
                try:
                    staged.rename(folder / str(version))
                    return version
                except OSError:  # another server took that number: try the next
                    if not (folder / str(version)).exists():
                        raise
        finally:
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)

    def remove(self, name: str, version: int | None = None) -> None:
        folder = self.root / name
        if version is None:
            trash = folder.with_name(f".removed-{name}-{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
            return
        target = folder / str(version)
        trash = folder / f".removed-{version}"
        with contextlib.suppress(FileNotFoundError):
            os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def drops(self) -> list[tuple[str, Path, Path]]:
        """Models dropped into the directory as ``NAME.onnx`` + ``NAME.json``/``.yaml``."""
        if not self.root.is_dir():
            return []
        found = []
        for model in sorted(self.root.glob("*.onnx")):
            for suffix in (".json", ".yaml", ".yml"):
                manifest = model.with_suffix(suffix)
                if manifest.is_file():
                    found.append((model.stem, model, manifest))
                    break
        return found
