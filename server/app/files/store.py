"""FileStore: uploaded files as blobs (:mod:`app.blobs`), their metadata in the database.

An upload is streamed in chunks from the request's spooled part into the blob store
(the data directory, the database or S3: ``VISOR_BLOB_URL``), hashed and counted on the
way (never held in memory whole, cut off at its size limit), then checked (an image, or a
video for video jobs, within the owner's quota) and only then recorded. Lookups
treat a missing, expired and someone else's file alike: "no such file", so ids of other
owners cannot be probed. Expired files are purged lazily on upload and listing, and so,
at most every few minutes, is what a crash left: a partial write, or a blob whose row was
never committed (once older than any upload in progress).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, Engine, and_, delete, func, insert, or_, select

from app.blobs import sweep as blob_sweep
from app.blobs.base import BlobMissing, BlobStore
from app.blobs.local import LocalBlobStore
from app.errors import ErrorCode, VisorError
from app.files.models import FileInfo, FileList, FileQuery
from app.files.sniff import is_video_type, sniff_video_type
from app.files.tables import files
from app.plugins.images import describe_bytes, sniff_mime_type
from app.store import leftovers
from app.store.clock import iso_from_micros, now_us
from app.store.cursors import decode_cursor, encode_cursor
from app.store.engine import WRITE
from app.store.ids import new_id

log = logging.getLogger("visor.files")

_CHUNK = 1024 * 1024
_PURGE_BATCH = 200
_SWEEP_EVERY_S = 600.0


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_video_bytes: int = 2 * 1024 * 1024 * 1024  # videos (mp4, mov, webm, mkv): app.video
    ttl_s: float = 24 * 3600.0
    quota_bytes: int = 1024 * 1024 * 1024
    max_files: int = 1000  # per owner: bounds a listing and the rows one key can make


class FileNotFound(VisorError):
    code = ErrorCode.NOT_FOUND


class FileStore:
    def __init__(
        self,
        engine: Engine,
        root: Path,
        limits: FileLimits | None = None,
        *,
        blobs: BlobStore | None = None,
    ) -> None:
        self._engine = engine
        self._blobs: BlobStore = blobs if blobs is not None else LocalBlobStore(root)
        self._limits = limits or FileLimits()
        self._next_sweep = 0.0  # monotonic time of the next leftovers sweep (0: at once)

    @property
    def limits(self) -> FileLimits:
        return self._limits

    @property
    def blobs(self) -> BlobStore:
        """Where the files' bytes are (a video job copies one from here)."""
        return self._blobs

    def close(self) -> None:
        self._engine.dispose()

    # -- commands ---------------------------------------------------------------------------

    def save(self, source: BinaryIO, *, filename: str | None, owner: str | None) -> FileInfo:
        """Store the bytes readable from ``source`` for ``owner``; returns the new file."""
        self.purge_expired()
        file_id = new_id()
        copy = _Copy(source, self._limits)
        try:
            size = self._blobs.write(file_id, copy.chunks())
            digest, head = copy.digest.hexdigest(), copy.head
            mime = self._check(size, head, owner)
            stamp = now_us()
            row = {
                "id": file_id,
                "owner": owner,
                "filename": _clean_name(filename),
                "mime_type": mime,
                "size_bytes": size,
                "sha256": digest,
                "created_us": stamp,
                "expires_us": stamp + int(self._limits.ttl_s * 1_000_000),
            }
            with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
                conn.execute(insert(files), row)
        except BaseException:
            self._blobs.delete(file_id)
            raise
        return _info(row)

    def delete(self, file_id: str, owner: str | None) -> FileInfo:
        info = self.get(file_id, owner)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(delete(files).where(files.c.id == file_id))
        self._blobs.delete(file_id)
        return info

    def purge_expired(self) -> int:
        """Delete expired files (a batch at a time; called on upload and listing)."""
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            ids = list(
                conn.execute(
                    select(files.c.id).where(files.c.expires_us < now_us()).limit(_PURGE_BATCH)
                ).scalars()
            )
            if ids:
                conn.execute(delete(files).where(files.c.id.in_(ids)))
        for file_id in ids:
            self._blobs.delete(file_id)
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + _SWEEP_EVERY_S
            swept = self.sweep_leftovers()
            if swept:
                log.info("deleted %d uploaded files left behind by a crash", swept)
        return len(ids)

    def sweep_leftovers(self, older_than_s: float = leftovers.LEFTOVER_AGE_S) -> int:
        """Delete partial uploads and file bodies without a row, untouched for
        ``older_than_s``; returns how many files went."""
        return blob_sweep.sweep(
            self._blobs, _file_of, self._existing_ids, older_than_s=older_than_s
        )

    def _existing_ids(self, file_ids: list[str]) -> set[str]:
        with self._engine.connect() as conn:
            return set(conn.execute(select(files.c.id).where(files.c.id.in_(file_ids))).scalars())

    # -- queries ----------------------------------------------------------------------------

    def get(self, file_id: str, owner: str | None) -> FileInfo:
        row = self._row(file_id, owner)
        if row is None:
            raise FileNotFound(
                f"file {file_id!r} does not exist or has expired", details={"file_id": file_id}
            )
        return _info(row)

    def read(self, file_id: str, owner: str | None) -> tuple[bytes, str] | None:
        """The bytes and type of the owner's live file, or None (missing, expired, foreign).

        A video is never read whole: it is refused here (it is a video job's input)."""
        row = self._row(file_id, owner)
        if row is None:
            return None
        if is_video_type(row["mime_type"]):
            raise VisorError(
                f"file {file_id!r} is a video ({row['mime_type']}), not an image: run a tool "
                "on its frames with a video job (POST /v1/video/jobs with video_ref)",
                code=ErrorCode.INVALID_INPUT,
                details={"field": "image_ref"},
            )
        try:
            return self._blobs.read_bytes(file_id), str(row["mime_type"])
        except BlobMissing:
            return None

    def blob(self, file_id: str, owner: str | None) -> tuple[str, FileInfo]:
        """The blob key of the owner's live file (to copy it), with its info."""
        info = self.get(file_id, owner)
        if not self._blobs.exists(file_id):
            raise FileNotFound(
                f"file {file_id!r} does not exist or has expired", details={"file_id": file_id}
            )
        return file_id, info

    def list_files(self, owner: str | None, query: FileQuery | None = None) -> FileList:
        """One page of the owner's live files, newest first (``query.cursor`` continues)."""
        query = query or FileQuery()
        self.purge_expired()
        stmt = select(files).where(_owned_by(owner), files.c.expires_us >= now_us())
        if query.cursor:
            created, last_id = decode_cursor(query.cursor)
            stmt = stmt.where(
                or_(
                    files.c.created_us < created,
                    and_(files.c.created_us == created, files.c.id < last_id),
                )
            )
        stmt = stmt.order_by(files.c.created_us.desc(), files.c.id.desc()).limit(query.limit + 1)
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        page = rows[: query.limit]
        next_cursor = None
        if len(rows) > query.limit:
            next_cursor = encode_cursor(page[-1]["created_us"], page[-1]["id"])
        count, used = self.usage(owner)
        return FileList(
            files=[_info(r) for r in page],
            next_cursor=next_cursor,
            used_bytes=used,
            quota_bytes=self._limits.quota_bytes,
            file_count=count,
            max_files=self._limits.max_files,
        )

    def usage(self, owner: str | None) -> tuple[int, int]:
        """``(files, bytes)`` the owner stores now."""
        stmt = select(func.count(), func.coalesce(func.sum(files.c.size_bytes), 0)).where(
            _owned_by(owner), files.c.expires_us >= now_us()
        )
        with self._engine.connect() as conn:
            count, used = conn.execute(stmt).one()
        return int(count), int(used or 0)

    # -- helpers ----------------------------------------------------------------------------

    def _row(self, file_id: str, owner: str | None) -> Any:
        if not isinstance(file_id, str) or len(file_id) != 32 or not file_id.isalnum():
            return None
        stmt = select(files).where(
            files.c.id == file_id, _owned_by(owner), files.c.expires_us >= now_us()
        )
        with self._engine.connect() as conn:
            return conn.execute(stmt).mappings().first()

    def _check(self, size: int, head: bytes, owner: str | None) -> str:
        if size == 0:
            raise VisorError(
                "file is empty", code=ErrorCode.INVALID_INPUT, details={"field": "file"}
            )
        mime = sniff_mime_type(head) or sniff_video_type(head)
        if mime is None:
            looks = describe_bytes(head)
            raise VisorError(
                f"file is not an image: the bytes look like {looks} (videos for video jobs "
                "are taken too: mp4, mov, webm, mkv)",
                code=ErrorCode.INVALID_INPUT,
                details={"field": "file", "looks_like": looks},
            )
        count, used = self.usage(owner)
        if count >= self._limits.max_files:
            raise VisorError(
                f"file count quota reached: {count} of {self._limits.max_files} files stored; "
                "delete files (DELETE /v1/files/{id}) or wait for them to expire",
                code=ErrorCode.PAYLOAD_TOO_LARGE,
                details={"file_count": count, "max_files": self._limits.max_files},
            )
        quota = self._limits.quota_bytes
        if used + size > quota:
            raise VisorError(
                f"storage quota exceeded: {used} of {quota} bytes used, this file is {size}; "
                "delete files (DELETE /v1/files/{id}) or wait for them to expire",
                code=ErrorCode.PAYLOAD_TOO_LARGE,
                details={"used_bytes": used, "quota_bytes": quota, "size_bytes": size},
            )
        return mime



class _Copy:
    """An upload's chunks on their way to the blob store: counted, hashed, capped."""

    def __init__(self, source: BinaryIO, limits: FileLimits) -> None:
        self._source = source
        self._limits = limits
        self.digest = hashlib.sha256()
        self.head = b""

    def chunks(self) -> Iterator[bytes]:
        limit = self._limits.max_bytes
        size = 0
        while chunk := self._source.read(_CHUNK):
            if not size and sniff_video_type(chunk[:64]) is not None:
                limit = self._limits.max_video_bytes  # a video: its own size limit
            size += len(chunk)
            if size > limit:
                raise VisorError(
                    f"file is larger than the limit of {limit} bytes",
                    code=ErrorCode.PAYLOAD_TOO_LARGE,
                    details={"field": "file", "limit_bytes": limit},
                )
            if len(self.head) < 512:
                self.head += chunk[: 512 - len(self.head)]
            self.digest.update(chunk)
            yield chunk


def _file_of(key: str) -> str | None:
    """The file id a blob belongs to (None for anything else)."""
    return key if key.isalnum() else None


def _owned_by(owner: str | None) -> ColumnElement[bool]:
    return files.c.owner.is_(None) if owner is None else files.c.owner == owner


def _clean_name(filename: str | None) -> str | None:
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:255] or None


def _info(row: Any) -> FileInfo:
    return FileInfo(
        id=row["id"],
        filename=row["filename"],
        mime_type=row["mime_type"],
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        created_at=iso_from_micros(row["created_us"]) or "",
        expires_at=iso_from_micros(row["expires_us"]) or "",
    )
