"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph RGW, R2…) through boto3.

``VISOR_BLOB_URL=s3://bucket/prefix``; the endpoint of a non-AWS service is
``VISOR_BLOB_S3_ENDPOINT_URL`` and credentials come from boto3's usual chain (environment,
shared config, instance role). Uploads go through boto3's managed transfer: multipart
above 8 MiB, at most two parts in flight, so a 2 GB video costs ~16 MiB of memory; a
multipart upload that fails or is abandoned is aborted, so no object appears. Object
storage has no rename: :meth:`move` is a server-side copy and a delete.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from app.blobs.base import CHUNK_BYTES, BlobEntry, BlobMissing, BlobStore, check_key
from app.blobs.temporary import temporary_copy


def _boto3() -> Any:
    try:
        import boto3
        from boto3.s3.transfer import TransferConfig
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "VISOR_BLOB_URL=s3://… needs the s3 extra: pip install 'visor-server[s3]'"
        ) from exc
    return boto3, TransferConfig


class S3BlobStore:
    kind = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        temp_dir: Path | None = None,
    ) -> None:
        boto3, transfer_config = _boto3()
        self._bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client or boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None
        )
        self._transfer = transfer_config(
            multipart_threshold=8 * 1024 * 1024,
            multipart_chunksize=8 * 1024 * 1024,
            max_concurrency=2,
            use_threads=True,
        )
        self._temp_dir = temp_dir

    def scope(self, prefix: str) -> S3BlobStore:
        scoped = object.__new__(S3BlobStore)
        scoped.__dict__.update(self.__dict__)
        scoped._prefix = self._full(prefix) + "/"
        return scoped

    def describe(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}"

    def _full(self, key: str) -> str:
        return self._prefix + check_key(key)

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        reader = _ChunkReader(chunks)
        self._client.upload_fileobj(reader, self._bucket, self._full(key), Config=self._transfer)
        return reader.size

    def read_chunks(self, key: str) -> Iterator[bytes]:
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=self._full(key))["Body"]
        except self._client.exceptions.NoSuchKey:
            raise BlobMissing(key) from None
        return _body_chunks(body)

    def read_bytes(self, key: str) -> bytes:
        return b"".join(self.read_chunks(key))

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise BlobMissing(key)
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self._client.head_object(
                Bucket=self._bucket, Key=self._full(key)
            )
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head

    def delete(self, key: str) -> bool:
        existed = self.exists(key)
        self._client.delete_object(Bucket=self._bucket, Key=self._full(key))
        return existed

    def move(self, key: str, new_key: str) -> int:
        size = self.copy_from(self, key, new_key)
        self._client.delete_object(Bucket=self._bucket, Key=self._full(key))
        return size

    def copy_from(self, source: BlobStore, key: str, new_key: str) -> int:
        if not isinstance(source, S3BlobStore):
            return self.write(new_key, source.read_chunks(key))
        size = source.size(key)  # BlobMissing if absent
        self._client.copy(  # managed: a multipart server-side copy for large objects
            {"Bucket": source._bucket, "Key": source._full(key)},
            self._bucket,
            self._full(new_key),
            Config=self._transfer,
        )
        return size

    def entries(self, before: float | None = None) -> Iterator[BlobEntry]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                modified: datetime = item["LastModified"]
                stamp = modified.timestamp()
                if before is None or stamp < before:
                    yield BlobEntry(item["Key"][len(self._prefix) :], int(item["Size"]), stamp)

    @contextlib.contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        with temporary_copy(self, key, self._temp_dir) as path:
            yield path


def _body_chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of chunks: what boto3's upload reads from."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
            self.size += len(self._buffer)
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count
