"""The blob tables: blobs in the job store's database, as rows of at most 1 MiB each.

``visor_blobs`` has one row per complete blob (its key, size and write time);
``visor_blob_chunks`` holds its bytes in numbered pieces. Chunked rows rather than
PostgreSQL large objects: the same tables work on SQLite, a blob is deleted with plain
``DELETE`` (large objects need ``lo_unlink`` or they leak), and a piece is one ordinary
``bytea`` value that is never held with its neighbours.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, String, Table

from app.store.columns import micros
from app.store.metadata import metadata

KEY_LENGTH = 400

blobs = Table(
    "visor_blobs",
    metadata,
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    micros("created_us"),
)

blob_chunks = Table(
    "visor_blob_chunks",
    metadata,
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)
