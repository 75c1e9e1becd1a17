"""A streamed local copy of a blob, for consumers that need a path (the video decoder)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from app.blobs.base import BlobStore
from app.blobs.local import copy_to_file


@contextlib.contextmanager
def temporary_copy(store: BlobStore, key: str, directory: Path | None = None) -> Iterator[Path]:
    """Stream ``key`` into a private temporary file, deleted when the context ends."""
    chunks = store.read_chunks(key)  # BlobMissing before any file exists
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="visor-blob-", suffix=".tmp", dir=directory)
    os.close(fd)
    path = Path(name)
    try:
        copy_to_file(chunks, path)
        yield path
    finally:
        path.unlink(missing_ok=True)
