"""The blob interface every backend implements, and what the features above rely on.

Bytes are streamed both ways: :meth:`BlobStore.write` consumes an iterator of chunks (the
caller counts, hashes and caps them on the way, and raises to abandon the write), and
:meth:`BlobStore.read_chunks` yields them back. A write is all or nothing: a reader sees
the old blob, the new one, or none, never half of one. A crash mid-write leaves at most a
partial the backend can name (:attr:`BlobEntry.partial`), swept like any leftover.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

#: The size of the pieces blobs are stored and read in.
CHUNK_BYTES = 1024 * 1024


class BlobMissing(FileNotFoundError):
    """No blob under that key (never written, deleted, or on a store not shared)."""


@dataclass(frozen=True)
class BlobEntry:
    """One stored blob (or a partial one) as a sweep sees it."""

    key: str
    size_bytes: int
    modified: float  # epoch seconds of the last write, rename or link

    @property
    def partial(self) -> bool:
        """A write that never finished, or a staged upload never moved in."""
        return self.key.endswith(".part")


@runtime_checkable
class BlobStore(Protocol):
    """Where blobs live. Keys are relative names (``a-z0-9._-`` and ``/``)."""

    kind: str  # "local" | "database" | "s3": for logs, the doctor and errors

    def scope(self, prefix: str) -> BlobStore:
        """The same store with every key under ``prefix/`` (one per feature)."""
        ...

    def describe(self) -> str:
        """Where the blobs are, for operators (never shown to API callers)."""
        ...

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks under ``key`` (replacing it); returns the size. If ``chunks``
        raises, nothing is stored and the exception propagates."""
        ...

    def read_chunks(self, key: str) -> Iterator[bytes]:
        """The blob's bytes in pieces; raises :class:`BlobMissing` at once if absent."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """A small blob whole (an image, an args document); never used for videos."""
        ...

    def size(self, key: str) -> int:
        """The blob's size; raises :class:`BlobMissing` if absent."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> bool:
        """Delete it; True if this call deleted something."""
        ...

    def move(self, key: str, new_key: str) -> int:
        """Rename a blob (a staged video becomes a job's input); returns its size."""
        ...

    def copy_from(self, source: BlobStore, key: str, new_key: str) -> int:
        """Copy ``source``'s ``key`` here as ``new_key`` (server-side where possible)."""
        ...

    def entries(self, before: float | None = None) -> Iterator[BlobEntry]:
        """The blobs in this scope (with partials), last written before ``before``."""
        ...

    def local_file(self, key: str) -> AbstractContextManager[Path]:
        """A local file with the blob's bytes for as long as the context lasts (the file
        itself on a local store, a streamed temporary copy elsewhere): for readers that
        need a path, like the video decoder."""
        ...


def rechunk(chunks: Iterable[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The same bytes in pieces of exactly ``size`` (the last one shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def check_key(key: str) -> str:
    """Refuse keys that could name something outside their scope."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts) or "\\" in key or "\0" in key:
        raise ValueError(f"not a blob key: {key!r}")
    return key
