"""Move a deployment's blobs from one store to another (``visor blobs copy``): the step
from a single host's data directory to PostgreSQL (or S3) when it becomes a cluster.

Each blob is streamed (never whole in memory) and checked by size on arrival; blobs the
target already holds at the same size are skipped, so an interrupted copy is simply run
again. Partial writes are never copied. The source is left alone unless asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app.blobs.base import BlobMissing, BlobStore

#: Every area Visor keeps blobs in (one scope each).
SCOPES = ("files", "job-inputs", "models")


@dataclass
class TransferReport:
    copied: dict[str, int] = field(default_factory=dict)  # scope -> blobs copied
    skipped: dict[str, int] = field(default_factory=dict)  # already there
    bytes_copied: int = 0
    deleted: int = 0


def transfer(
    source: BlobStore,
    target: BlobStore,
    scopes: Iterable[str] = SCOPES,
    *,
    delete_source: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> TransferReport:
    report = TransferReport()
    for scope in scopes:
        origin, destination = source.scope(scope), target.scope(scope)
        report.copied[scope] = report.skipped[scope] = 0
        for entry in list(origin.entries()):
            if entry.partial:
                continue
            try:
                present = destination.size(entry.key)
            except BlobMissing:
                present = -1
            if present == entry.size_bytes:
                report.skipped[scope] += 1
            else:
                size = destination.copy_from(origin, entry.key, entry.key)
                if size != entry.size_bytes:
                    raise RuntimeError(
                        f"{scope}/{entry.key}: copied {size} bytes, expected {entry.size_bytes}"
                    )
                report.copied[scope] += 1
                report.bytes_copied += size
                if progress is not None:
                    progress(scope, entry.key)
            if delete_source:
                report.deleted += origin.delete(entry.key)
    return report
