"""Blobs as files under a directory: the embedded default, the layout Visor always had.

A blob is ``<root>/<key>``. A write goes to ``.<name>.<random>.part`` beside its target and
is renamed into place when complete, so a reader sees the whole blob or none; a crash
leaves only the ``.part`` file, which :meth:`entries` reports as partial (as it does the
``.incoming/*.part`` files earlier versions left).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.blobs.base import CHUNK_BYTES, BlobEntry, BlobMissing, BlobStore, check_key


class LocalBlobStore:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def scope(self, prefix: str) -> LocalBlobStore:
        return LocalBlobStore(self.root / check_key(prefix))

    def describe(self) -> str:
        return f"the directory {self.root}"

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        size = 0
        try:
            with open(partial, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    out.write(chunk)
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return size

    def read_chunks(self, key: str) -> Iterator[bytes]:
        try:
            handle = open(self.path(key), "rb")  # noqa: SIM115 (closed by the generator)
        except FileNotFoundError:
            raise BlobMissing(key) from None
        return _chunks_of(handle)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(key) from None

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            raise BlobMissing(key) from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def move(self, key: str, new_key: str) -> int:
        source, target = self.path(key), self.path(new_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except FileNotFoundError:
            raise BlobMissing(key) from None
        return target.stat().st_size

    def copy_from(self, source: BlobStore, key: str, new_key: str) -> int:
        if isinstance(source, LocalBlobStore):
            origin, target = source.path(key), self.path(new_key)
            if not origin.is_file():
                raise BlobMissing(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:  # a hard link: instant, and the source may go (expire) meanwhile
                os.link(origin, target)
                return target.stat().st_size
            except FileExistsError:
                target.unlink()
                return self.copy_from(source, key, new_key)
            except OSError:
                pass  # another filesystem: copy below
        return self.write(new_key, source.read_chunks(key))

    def entries(self, before: float | None = None) -> Iterator[BlobEntry]:
        for directory, _subdirs, names in os.walk(self.root):
            folder = Path(directory)
            for name in names:
                path = folder / name
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                # renaming and linking set the change time, not the modification time
                modified = max(stat.st_mtime, stat.st_ctime)
                if before is None or modified < before:
                    key = path.relative_to(self.root).as_posix()
                    yield BlobEntry(key, stat.st_size, modified)

    @contextlib.contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise BlobMissing(key)
        yield path


def _chunks_of(handle: object) -> Iterator[bytes]:
    with handle as source:  # type: ignore[attr-defined]
        while chunk := source.read(CHUNK_BYTES):
            yield chunk


def copy_to_file(chunks: Iterable[bytes], target: Path) -> int:
    """Write ``chunks`` to ``target`` (a temporary copy for a path-reading consumer)."""
    size = 0
    with open(target, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            out.write(chunk)
    return size
