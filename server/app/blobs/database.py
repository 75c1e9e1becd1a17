"""Blobs as chunked rows in the job store's database: a cluster needs no shared disk.

Every server that shares the PostgreSQL job store reads the blobs any of them wrote. A
write streams its pieces into ``visor_blob_chunks`` inside one transaction and records the
blob in ``visor_blobs`` last: a crash or an abandoned write rolls back to nothing, and a
reader never finds half a blob. Reads fetch one piece per statement, so neither side ever
holds more than one piece (1 MiB) of a blob in memory. Copies and renames run inside the
database. (It works on SQLite too, where a write holds the database's write lock while it
streams: use it there for tests, not for large uploads.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, String, bindparam, delete, func, insert, literal, select, update

from app.blobs.base import BlobEntry, BlobMissing, BlobStore, check_key, rechunk
from app.blobs.tables import blob_chunks, blobs
from app.blobs.temporary import temporary_copy
from app.store.clock import now_us
from app.store.engine import WRITE

_SEQ: Any = bindparam("seq")


class DatabaseBlobStore:
    kind = "database"

    def __init__(self, engine: Engine, prefix: str = "", temp_dir: Path | None = None) -> None:
        self._engine = engine
        self._prefix = prefix
        self._temp_dir = temp_dir

    def scope(self, prefix: str) -> DatabaseBlobStore:
        return DatabaseBlobStore(self._engine, self._full(prefix) + "/", self._temp_dir)

    def describe(self) -> str:
        return f"the database ({self._engine.dialect.name}, table visor_blobs)"

    def close(self) -> None:
        self._engine.dispose()

    def _full(self, key: str) -> str:
        return self._prefix + check_key(key)

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        full = self._full(key)
        size = count = 0
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(delete(blob_chunks).where(blob_chunks.c.key == full))
            conn.execute(delete(blobs).where(blobs.c.key == full))
            for piece in rechunk(chunks):
                conn.execute(insert(blob_chunks), {"key": full, "seq": count, "data": piece})
                count += 1
                size += len(piece)
            conn.execute(
                insert(blobs),
                {"key": full, "size_bytes": size, "chunks": count, "created_us": now_us()},
            )
        return size

    def read_chunks(self, key: str) -> Iterator[bytes]:
        full = self._full(key)
        count = self._chunk_count(full)
        return self._pieces(full, count)

    def _chunk_count(self, full: str) -> int:
        with self._engine.connect() as conn:
            count = conn.execute(select(blobs.c.chunks).where(blobs.c.key == full)).scalar()
        if count is None:
            raise BlobMissing(full)
        return int(count)

    def _pieces(self, full: str, count: int) -> Iterator[bytes]:
        stmt = select(blob_chunks.c.data).where(
            blob_chunks.c.key == full, blob_chunks.c.seq == _SEQ
        )
        for seq in range(count):
            with self._engine.connect() as conn:
                piece = conn.execute(stmt, {"seq": seq}).scalar()
            if piece is None:  # deleted while we read it
                raise BlobMissing(full)
            yield bytes(piece)

    def read_bytes(self, key: str) -> bytes:
        return b"".join(self.read_chunks(key))

    def size(self, key: str) -> int:
        with self._engine.connect() as conn:
            size = conn.execute(
                select(blobs.c.size_bytes).where(blobs.c.key == self._full(key))
            ).scalar()
        if size is None:
            raise BlobMissing(key)
        return int(size)

    def exists(self, key: str) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(select(blobs.c.key).where(blobs.c.key == self._full(key)))
            return found.first() is not None

    def delete(self, key: str) -> bool:
        full = self._full(key)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            gone = conn.execute(delete(blobs).where(blobs.c.key == full)).rowcount
            conn.execute(delete(blob_chunks).where(blob_chunks.c.key == full))
        return bool(gone)

    def move(self, key: str, new_key: str) -> int:
        old, new = self._full(key), self._full(new_key)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            size = conn.execute(select(blobs.c.size_bytes).where(blobs.c.key == old)).scalar()
            if size is None:
                raise BlobMissing(key)
            conn.execute(delete(blobs).where(blobs.c.key == new))
            conn.execute(delete(blob_chunks).where(blob_chunks.c.key == new))
            conn.execute(update(blob_chunks).where(blob_chunks.c.key == old).values(key=new))
            conn.execute(
                update(blobs).where(blobs.c.key == old).values(key=new, created_us=now_us())
            )
        return int(size)

    def copy_from(self, source: BlobStore, key: str, new_key: str) -> int:
        if not (isinstance(source, DatabaseBlobStore) and source._engine is self._engine):
            return self.write(new_key, source.read_chunks(key))
        old, new = source._full(key), self._full(new_key)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            row = conn.execute(select(blobs).where(blobs.c.key == old)).mappings().first()
            if row is None:
                raise BlobMissing(key)
            conn.execute(delete(blobs).where(blobs.c.key == new))
            conn.execute(delete(blob_chunks).where(blob_chunks.c.key == new))
            conn.execute(  # inside the database: the bytes never come to this process
                insert(blob_chunks).from_select(
                    ["key", "seq", "data"],
                    select(literal(new, String), blob_chunks.c.seq, blob_chunks.c.data).where(
                        blob_chunks.c.key == old
                    ),
                )
            )
            conn.execute(insert(blobs), {**row, "key": new, "created_us": now_us()})
        return int(row["size_bytes"])

    def entries(self, before: float | None = None) -> Iterator[BlobEntry]:
        stmt = select(blobs.c.key, blobs.c.size_bytes, blobs.c.created_us)
        if self._prefix:
            stmt = stmt.where(blobs.c.key.startswith(self._prefix, autoescape=True))
        if before is not None:
            stmt = stmt.where(blobs.c.created_us < int(before * 1_000_000))
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        for key, size, created in rows:
            yield BlobEntry(key[len(self._prefix) :], int(size), created / 1_000_000)

    def total_bytes(self) -> int:
        """Bytes stored under this scope (for operators and the transfer command)."""
        stmt = select(func.coalesce(func.sum(blobs.c.size_bytes), 0))
        if self._prefix:
            stmt = stmt.where(blobs.c.key.startswith(self._prefix, autoescape=True))
        with self._engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    @contextlib.contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        with temporary_copy(self, key, self._temp_dir) as path:
            yield path
