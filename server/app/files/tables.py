"""The ``visor_files`` table: the metadata of uploaded files (``POST /v1/files``).

Their bytes live under the data directory (:class:`app.files.store.FileStore`). Times are
epoch microseconds (:mod:`app.store.clock`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table

from app.store.columns import micros, row_id
from app.store.metadata import metadata

files = Table(
    "visor_files",
    metadata,
    row_id(),
    Column("owner", String(64), nullable=True),
    Column("filename", String(255), nullable=True),
    Column("mime_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    micros("created_us"),
    micros("expires_us"),
    Index("ix_visor_files_owner_created", "owner", "created_us"),
    Index("ix_visor_files_expires", "expires_us"),
)
