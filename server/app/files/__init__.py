"""Uploaded files: upload once (``POST /v1/files``), use many times as ``image_ref``.

Bytes are streamed to disk under the data directory; metadata (owner, type, size, expiry)
lives in the database beside the jobs. Files expire, count against a per-owner quota and
are visible only to the key that uploaded them (``owner`` is None while auth is off).
"""
