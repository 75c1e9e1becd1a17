"""Where model files and manifests live: a small interface and its local-disk implementation.

Layout under the model directory (``VISOR_MODEL_DIR``)::

    NAME/1/model.onnx   NAME/1/manifest.json   (version 1)
    NAME/2/...                                   (version 2)
    NAME/default                                 (the version calls get unless they pin one)

Manifests live beside their model rather than in a database table: the worker processes
that serve a model read both from here, so one place holds one truth, and a model
directory copied to another machine is complete. With ``VISOR_BLOB_URL`` set to a shared
store (the database, S3), :class:`BlobModelStore` keeps the same layout as blobs, so the
servers and workers of a cluster share models without a shared disk.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from app.blobs.base import CHUNK_BYTES, BlobMissing, BlobStore
from app.models.manifest import NAME_PATTERN, Manifest
from app.settings import Settings

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
DEFAULT_FILE = "default"
STAGING = ".staging"


class ModelStore(Protocol):
    root: Path

    def staging_dir(self) -> Path: ...
    def drops(self) -> list[tuple[str, Path, Path]]: ...
    def names(self) -> list[str]: ...
    def versions(self, name: str) -> list[int]: ...
    def default(self, name: str) -> int | None: ...
    def set_default(self, name: str, version: int) -> None: ...
    def manifest(self, name: str, version: int) -> Manifest: ...
    def model_bytes(self, name: str, version: int) -> bytes: ...
    def model_size(self, name: str, version: int) -> int: ...
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

    def model_size(self, name: str, version: int) -> int:
        return self.model_path(name, version).stat().st_size

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


class BlobModelStore:
    """Models as blobs (``VISOR_BLOB_URL=database`` or ``s3://…``): every server and every
    worker, Ray actors included, reads the same repository without a shared disk.

    Keys under the ``models`` scope mirror the directory layout (``NAME/1/model.onnx``,
    ``NAME/1/manifest.json``, ``NAME/default``). A version exists once both of its blobs
    do: the model is written first, its manifest last. Drops and the staging area for
    checks stay local (``root``): they are files an operator or an upload puts on this
    host.
    """

    def __init__(self, blobs: BlobStore, root: Path) -> None:
        self.blobs = blobs
        self.root = Path(root)
        self._local = LocalModelStore(root)

    def staging_dir(self) -> Path:
        return self._local.staging_dir()

    def drops(self) -> list[tuple[str, Path, Path]]:
        return self._local.drops()

    def _complete(self) -> dict[str, set[int]]:
        found: dict[tuple[str, int], set[str]] = {}
        for entry in self.blobs.entries():
            parts = entry.key.split("/")
            if len(parts) == 3 and parts[1].isdigit() and not entry.partial:
                found.setdefault((parts[0], int(parts[1])), set()).add(parts[2])
        versions: dict[str, set[int]] = {}
        for (name, version), files in found.items():
            if {MODEL_FILE, MANIFEST_FILE} <= files:
                versions.setdefault(name, set()).add(version)
        return versions

    def names(self) -> list[str]:
        return sorted(n for n in self._complete() if NAME_PATTERN.match(n))

    def versions(self, name: str) -> list[int]:
        return sorted(self._complete().get(name, set()))

    def default(self, name: str) -> int | None:
        try:
            version = int(self.blobs.read_bytes(f"{name}/{DEFAULT_FILE}").decode().strip())
        except (BlobMissing, ValueError):
            versions = self.versions(name)
            return versions[-1] if versions else None
        return version if self.blobs.exists(f"{name}/{version}/{MANIFEST_FILE}") else None

    def set_default(self, name: str, version: int) -> None:
        self.blobs.write(f"{name}/{DEFAULT_FILE}", [f"{version}\n".encode()])

    def manifest(self, name: str, version: int) -> Manifest:
        text = self.blobs.read_bytes(f"{name}/{version}/{MANIFEST_FILE}")
        return Manifest.model_validate_json(text)

    def model_bytes(self, name: str, version: int) -> bytes:
        return self.blobs.read_bytes(f"{name}/{version}/{MODEL_FILE}")

    def model_size(self, name: str, version: int) -> int:
        return self.blobs.size(f"{name}/{version}/{MODEL_FILE}")

    def add(self, name: str, model_file: Path, manifest: Manifest) -> int:
        taken: set[int] = set()
        for entry in self.blobs.scope(name).entries():
            head = entry.key.split("/", 1)[0]
            if head.isdigit():
                taken.add(int(head))
        version = max(taken, default=0) + 1
        with open(model_file, "rb") as source:
            chunks = iter(lambda: source.read(CHUNK_BYTES), b"")
            self.blobs.write(f"{name}/{version}/{MODEL_FILE}", chunks)
        self.blobs.write(
            f"{name}/{version}/{MANIFEST_FILE}", [manifest.model_dump_json(indent=2).encode()]
        )
        return version

    def remove(self, name: str, version: int | None = None) -> None:
        prefix = f"{name}/" if version is None else f"{name}/{version}/"
        for entry in list(self.blobs.entries()):
            if entry.key.startswith(prefix):
                self.blobs.delete(entry.key)


def open_model_store(root: Path, blob_url: str, settings: Settings | None = None) -> ModelStore:
    """The repository: files under ``root``, or blobs when ``blob_url`` names a shared store
    (then the database or bucket comes from ``settings``, the environment by default: a
    worker process or Ray actor builds it from the same ``VISOR_*`` as the server)."""
    if not blob_url or blob_url == "local":
        return LocalModelStore(root)
    if settings is None:
        return _shared_store(str(root), blob_url)
    from app.blobs.factory import build_blob_store

    return BlobModelStore(build_blob_store(settings, blob_url).scope("models"), root)


@functools.cache
def _shared_store(root: str, blob_url: str) -> ModelStore:
    """One store (one connection pool) per process for the workers' model plugins."""
    return open_model_store(Path(root), blob_url, Settings())
