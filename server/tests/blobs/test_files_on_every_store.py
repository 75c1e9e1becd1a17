"""Uploaded files keep their rules on every blob backend (issue 27): ownership, the size
cap (a refused upload leaves no blob), expiry (the purge deletes the blob) and the sweep
of a blob whose row never came."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import png_bytes
from sqlalchemy import update

from app.blobs.base import BlobStore
from app.blobs.database import DatabaseBlobStore
from app.blobs.local import LocalBlobStore
from app.errors import ErrorCode, VisorError
from app.files.store import FileLimits, FileNotFound, FileStore
from app.files.tables import files
from app.store.engine import build_engine
from app.store.migrate import upgrade


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'blobs.sqlite3'}"


@pytest.fixture(params=["local", "database", pytest.param("s3", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileStore]:
    engine = build_engine(sqlite_url(tmp_path))
    upgrade(engine)
    blobs: BlobStore
    if request.param == "local":
        blobs = LocalBlobStore(tmp_path / "data")
    elif request.param == "database":
        blobs = DatabaseBlobStore(engine)
    else:
        from app.blobs.s3 import S3BlobStore

        bucket = request.getfixturevalue("s3_bucket")
        blobs = S3BlobStore(bucket, endpoint_url=request.getfixturevalue("s3_endpoint"))
    limits = FileLimits(max_bytes=5000)
    yield FileStore(engine, tmp_path / "data" / "files", limits, blobs=blobs.scope("files"))
    engine.dispose()


def test_owners_caps_expiry_and_leftovers(store: FileStore) -> None:
    image = png_bytes((30, 20))
    mine = store.save(io.BytesIO(image), filename="a.png", owner="key-a")
    assert store.read(mine.id, "key-a") == (image, "image/png")
    assert store.read(mine.id, "key-b") is None  # someone else's: not found
    with pytest.raises(FileNotFound):
        store.get(mine.id, "key-b")

    with pytest.raises(VisorError) as refused:
        store.save(io.BytesIO(image + b"\0" * 6000), filename="big.png", owner="key-a")
    assert refused.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert [e.key for e in store.blobs.entries()] == [mine.id]  # nothing left of it

    with store._engine.begin() as conn:  # it expires
        conn.execute(update(files).where(files.c.id == mine.id).values(expires_us=1))
    assert store.purge_expired() == 1
    assert not store.blobs.exists(mine.id)

    store.blobs.write("ab" * 16, [image])  # a blob whose row never came (a crash)
    assert store.sweep_leftovers(older_than_s=-5) == 1
    assert list(store.blobs.entries()) == []
