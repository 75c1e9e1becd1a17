"""Large job inputs as blobs (:mod:`app.blobs`), not database rows.

A job whose input (its args JSON plus its image) is over ``inline_bytes`` keeps it in two
blobs, ``<id>.args.json`` and ``<id>.image`` (a video job's video is ``<id>.media``, always
a blob, moved in from where it was staged), and its row records the size in
``input_bytes``. Small inputs stay in the database, where a job costs one row. The blobs
are written before the row is committed (a crash between the two leaves an orphan blob,
never a job without its input), deleted when the job ends, and swept with the job's row
at purge time. What a crash leaves behind — a partial write, a staged video never moved
in, an input whose job row was never committed — is swept by
:meth:`JobInputFiles.sweep_leftovers` (see :mod:`app.blobs.sweep`). The total held as
blobs is bounded: beyond ``max_total_bytes`` a submit is refused with ``overloaded`` until
running jobs finish.

Where the blobs live is ``VISOR_BLOB_URL``: under ``data_dir/job-inputs`` by default (then
servers sharing one PostgreSQL job store must share that directory), in the database or
in S3 for a cluster without a shared disk: the server that claims a job reads its input
wherever it was submitted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from app.blobs import sweep as blob_sweep
from app.blobs.base import BlobMissing, BlobStore
from app.blobs.local import LocalBlobStore
from app.store import leftovers

_SUFFIXES = (".args.json", ".image", ".media")
STAGING = ".incoming"


@dataclass(frozen=True)
class JobInputFiles:
    root: Path
    inline_bytes: int = 64 * 1024
    max_total_bytes: int = 2 * 1024 * 1024 * 1024
    blobs: BlobStore = field(default=None)  # type: ignore[assignment]  # set below

    def __post_init__(self) -> None:
        if self.blobs is None:
            object.__setattr__(self, "blobs", LocalBlobStore(self.root))

    def where(self) -> str:
        """Where the inputs are, for operators' messages."""
        return self.blobs.describe()

    def external(self, args_json: bytes, image: bytes | None, media: str | None = None) -> bool:
        """Whether this input goes to blobs rather than the database row."""
        if media is not None:
            return True
        return len(args_json) + (len(image) if image is not None else 0) > self.inline_bytes

    def write(
        self, job_id: str, args_json: bytes, image: bytes | None, media: str | None = None
    ) -> int:
        """Write the input's blobs (moving the staged ``media`` in); returns the bytes stored."""
        self.blobs.write(self._args_key(job_id), [args_json])
        if image is not None:
            self.blobs.write(self._image_key(job_id), [image])
        media_bytes = 0
        if media is not None:
            media_bytes = self.blobs.move(media, self.media_key(job_id))
        return len(args_json) + (len(image) if image is not None else 0) + media_bytes

    def stage(self, chunks: Iterable[bytes]) -> str:
        """Store a video being submitted under a fresh staging key (moved in by :meth:`write`;
        swept as a leftover if its submit never completes)."""
        key = self.staging_key()
        self.blobs.write(key, chunks)
        return key

    def staging_key(self) -> str:
        return f"{STAGING}/{uuid.uuid4().hex}.part"

    def discard(self, key: str) -> None:
        self.blobs.delete(key)

    def media_key(self, job_id: str) -> str:
        return f"{_safe(job_id)}.media"

    def media_file(self, key: str) -> AbstractContextManager[Path]:
        """A local file with a staged or stored video, for the decoder (a streamed temporary
        copy unless the blobs are local files)."""
        return self.blobs.local_file(key)

    def has_media(self, job_id: str) -> bool:
        return self.blobs.exists(self.media_key(job_id))

    def read_args(self, job_id: str) -> bytes:
        try:
            return self.blobs.read_bytes(self._args_key(job_id))
        except BlobMissing:
            raise FileNotFoundError(job_id) from None

    def read_image(self, job_id: str) -> bytes | None:
        try:
            return self.blobs.read_bytes(self._image_key(job_id))
        except BlobMissing:
            return None

    def remove(self, job_id: str) -> None:
        for key in (self._args_key(job_id), self._image_key(job_id), self.media_key(job_id)):
            self.blobs.delete(key)

    def sweep_leftovers(
        self,
        existing: Callable[[list[str]], Collection[str]],
        *,
        older_than_s: float = leftovers.LEFTOVER_AGE_S,
    ) -> int:
        """Delete what crashes left: partial and staged blobs, and inputs of jobs that do
        not exist (``existing`` says which of some job ids have rows). Only blobs untouched
        for ``older_than_s`` are considered. Returns how many were deleted."""
        return blob_sweep.sweep(self.blobs, _job_of, existing, older_than_s=older_than_s)

    def _args_key(self, job_id: str) -> str:
        return f"{_safe(job_id)}.args.json"

    def _image_key(self, job_id: str) -> str:
        return f"{_safe(job_id)}.image"


def _job_of(key: str) -> str | None:
    """The job an input blob belongs to (None for anything else, staging included)."""
    for suffix in _SUFFIXES:
        job_id = key[: -len(suffix)]
        if key.endswith(suffix) and job_id.isalnum():
            return job_id
    return None


def _safe(job_id: str) -> str:
    if not job_id.isalnum():  # ids are uuid4 hex; never let one name another key
        raise ValueError(f"not a job id: {job_id!r}")
    return job_id
