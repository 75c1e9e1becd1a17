"""Large job inputs as files under the data directory, not database rows.

A job whose input (its args JSON plus its image) is over ``inline_bytes`` keeps it in two
files, ``<id>.args.json`` and ``<id>.image`` (a video job's video is ``<id>.media``, always
a file, moved in from wherever it was staged), and its row records the size in
``input_bytes``. Small inputs stay in the database, where a job costs one row. The files
are written before the row is committed (a crash between the two leaves an orphan file,
never a job without its input), deleted when the job ends, and swept with the job's row
at purge time. What a crash leaves behind — a half-written ``.part`` file, a staged video
never moved in, an input whose job row was never committed — is swept by
:meth:`JobInputFiles.sweep_leftovers` (see :mod:`app.store.leftovers`). The total
held in files is bounded: beyond ``max_total_bytes`` a submit
is refused with ``overloaded`` until running jobs finish.

Several servers sharing one PostgreSQL job store must share this directory too (or raise
``inline_bytes`` so inputs stay in the database): the server that claims a job reads it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from app.store import leftovers

_SUFFIXES = (".args.json", ".image", ".media")


@dataclass(frozen=True)
class JobInputFiles:
    root: Path
    inline_bytes: int = 64 * 1024
    max_total_bytes: int = 2 * 1024 * 1024 * 1024

    def external(self, args_json: bytes, image: bytes | None, media: Path | None = None) -> bool:
        """Whether this input goes to files rather than the database row."""
        if media is not None:
            return True
        return len(args_json) + (len(image) if image is not None else 0) > self.inline_bytes

    def write(
        self, job_id: str, args_json: bytes, image: bytes | None, media: Path | None = None
    ) -> int:
        """Write the input's files (moving ``media`` in); returns the bytes stored."""
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomically(self._args_path(job_id), args_json)
        if image is not None:
            _write_atomically(self._image_path(job_id), image)
        media_bytes = 0
        if media is not None:
            media_bytes = media.stat().st_size
            os.replace(media, self.media_path(job_id))
        return len(args_json) + (len(image) if image is not None else 0) + media_bytes

    def staging(self) -> Path:
        """A directory on the same filesystem to stage media in before :meth:`write`."""
        path = self.root / ".incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def media_path(self, job_id: str) -> Path:
        return self.root / f"{_safe(job_id)}.media"

    def read_args(self, job_id: str) -> bytes:
        return self._args_path(job_id).read_bytes()

    def read_image(self, job_id: str) -> bytes | None:
        try:
            return self._image_path(job_id).read_bytes()
        except FileNotFoundError:
            return None

    def remove(self, job_id: str) -> None:
        for path in (self._args_path(job_id), self._image_path(job_id), self.media_path(job_id)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def sweep_leftovers(
        self,
        existing: Callable[[list[str]], Collection[str]],
        *,
        older_than_s: float = leftovers.LEFTOVER_AGE_S,
    ) -> int:
        """Delete what crashes left: partial and staged files, and inputs of jobs that do
        not exist (``existing`` says which of some job ids have rows). Only files untouched
        for ``older_than_s`` are considered. Returns how many files were deleted."""
        candidates = [
            *leftovers.files_in(self.root),
            *leftovers.files_in(self.root / ".incoming"),
        ]
        return leftovers.sweep(candidates, self._job_of, existing, older_than_s=older_than_s)

    def _job_of(self, path: Path) -> str | None:
        """The job an input file belongs to (None for anything else, staging included)."""
        if path.parent != self.root:
            return None
        for suffix in _SUFFIXES:
            job_id = path.name[: -len(suffix)]
            if path.name.endswith(suffix) and job_id.isalnum():
                return job_id
        return None

    def _args_path(self, job_id: str) -> Path:
        return self.root / f"{_safe(job_id)}.args.json"

    def _image_path(self, job_id: str) -> Path:
        return self.root / f"{_safe(job_id)}.image"


def _safe(job_id: str) -> str:
    if not job_id.isalnum():  # ids are uuid4 hex; never let one name another path
        raise ValueError(f"not a job id: {job_id!r}")
    return job_id


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        with open(partial, "wb") as out:
            out.write(data)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
