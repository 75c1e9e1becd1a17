"""``VISOR_BLOB_URL`` → the blob store (built by the app factory and the CLI, never at import)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from app.blobs.base import BlobStore
from app.blobs.database import DatabaseBlobStore
from app.blobs.local import LocalBlobStore
from app.settings import Settings
from app.store.engine import build_engine


class BlobUrlError(ValueError):
    """``VISOR_BLOB_URL`` names no store Visor knows."""


def build_blob_store(settings: Settings, url: str | None = None) -> BlobStore:
    """The store ``url`` (default ``settings.blob_url``) names:

    - empty or ``local``: the data directory (``files/``, ``job-inputs/``… as always);
    - ``file:///path``: another local (or mounted) directory;
    - ``database``: the job store's database (``VISOR_DATABASE_URL``);
    - ``s3://bucket/prefix``: S3-compatible object storage.
    """
    url = settings.blob_url if url is None else url
    temp_dir = settings.data_dir / "tmp"
    if url in ("", "local"):
        return LocalBlobStore(settings.data_dir)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(parsed.path))
    if url == "database":
        return DatabaseBlobStore(build_engine(settings.resolved_database_url()), temp_dir=temp_dir)
    if parsed.scheme == "s3" and parsed.netloc:
        from app.blobs.s3 import S3BlobStore

        return S3BlobStore(
            parsed.netloc,
            parsed.path.strip("/"),
            endpoint_url=settings.blob_s3_endpoint_url,
            region=settings.blob_s3_region,
            temp_dir=temp_dir,
        )
    raise BlobUrlError(
        f"VISOR_BLOB_URL={url!r}: expected empty (the data directory), 'database', "
        "file:///path or s3://bucket/prefix"
    )
