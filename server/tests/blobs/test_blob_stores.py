"""Every blob backend keeps the same contract (issue 27): streamed writes that are all or
nothing, reads in pieces, scopes, renames, copies (inside the store where it can), the
sweep's listing, and a local file for path readers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.blobs import sweep
from app.blobs.base import CHUNK_BYTES, BlobMissing, BlobStore
from app.blobs.database import DatabaseBlobStore
from app.blobs.local import LocalBlobStore
from app.store.engine import build_engine
from app.store.migrate import upgrade


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'blobs.sqlite3'}"


BIG = os.urandom(CHUNK_BYTES * 3 + 12345)  # several pieces and a short last one


@pytest.fixture(
    params=[
        "local",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("s3", marks=pytest.mark.slow),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    kind = request.param
    if kind == "local":
        yield LocalBlobStore(tmp_path / "blobs")
    elif kind in ("sqlite", "postgres"):
        url = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
        engine = build_engine(url)
        upgrade(engine)
        # a scope per test: the session's PostgreSQL database is shared
        yield DatabaseBlobStore(engine, temp_dir=tmp_path / "tmp").scope(tmp_path.name)
        engine.dispose()
    else:
        from app.blobs.s3 import S3BlobStore

        bucket = request.getfixturevalue("s3_bucket")
        yield S3BlobStore(bucket, "visor", endpoint_url=request.getfixturevalue("s3_endpoint"))


def _pieces(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_blob_goes_in_and_comes_out_in_pieces(store: BlobStore) -> None:
    assert store.write("a/big.bin", _pieces(BIG)) == len(BIG)
    pieces = list(store.read_chunks("a/big.bin"))
    assert max(len(p) for p in pieces) <= CHUNK_BYTES  # never the whole blob at once
    assert b"".join(pieces) == BIG
    assert store.size("a/big.bin") == len(BIG) and store.exists("a/big.bin")
    assert store.read_bytes("a/big.bin") == BIG
    with store.local_file("a/big.bin") as path:
        assert path.read_bytes() == BIG
    assert store.write("a/big.bin", [b"replaced"]) == 8  # a write replaces
    assert store.read_bytes("a/big.bin") == b"replaced"
    assert store.delete("a/big.bin") and not store.delete("a/big.bin")
    for missing in (store.read_chunks, store.read_bytes, store.size):
        with pytest.raises(BlobMissing):
            missing("a/big.bin")
    with pytest.raises(BlobMissing), store.local_file("a/big.bin"):
        pass


def test_an_abandoned_write_leaves_nothing(store: BlobStore) -> None:
    def failing() -> Iterator[bytes]:
        yield BIG[: CHUNK_BYTES * 2]
        raise ValueError("too large")

    with pytest.raises(ValueError, match="too large"):
        store.write("half", failing())
    assert not store.exists("half")
    assert [e.key for e in store.entries()] == []  # no partial either


def test_scopes_renames_copies_and_the_listing(store: BlobStore) -> None:
    files, inputs = store.scope("files"), store.scope("job-inputs")
    files.write("abc123", _pieces(BIG))
    inputs.write(".incoming/staged.part", [b"video"])
    assert not inputs.exists("abc123")
    assert inputs.copy_from(files, "abc123", "job1.media") == len(BIG)
    assert inputs.read_bytes("job1.media") == BIG
    files.delete("abc123")  # the upload expires: the job's copy stays
    assert inputs.read_bytes("job1.media") == BIG
    assert inputs.move(".incoming/staged.part", "job2.media") == 5
    assert not inputs.exists(".incoming/staged.part")
    assert sorted(e.key for e in inputs.entries()) == ["job1.media", "job2.media"]
    assert [e.key for e in files.entries()] == []
    with pytest.raises(BlobMissing):
        inputs.move("nothing", "other")
    with pytest.raises(ValueError):
        inputs.write("../escape", [b"x"])


def test_the_sweep_takes_partials_and_orphans_only(store: BlobStore) -> None:
    scope = store.scope("files")
    scope.write("alive1", [b"1"])
    scope.write("orphan1", [b"2"])
    scope.write(".incoming/half.part", [b"3"])
    swept = sweep.sweep(
        scope, lambda key: key if key.isalnum() else None, lambda ids: {"alive1"}, older_than_s=-5
    )
    assert swept == 2
    assert [e.key for e in scope.entries()] == ["alive1"]
    # nothing is old enough: nothing goes
    scope.write("orphan2", [b"4"])
    assert sweep.sweep(scope, lambda key: key, lambda ids: set(), older_than_s=3600) == 0
