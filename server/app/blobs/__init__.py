"""Blobs: the bytes Visor keeps beside its rows, behind one interface (issue 27).

Uploaded files, large job inputs, staged videos and model files are blobs. Where they live
is a deployment choice (``VISOR_BLOB_URL``): a local directory (the embedded default, the
layout under the data directory unchanged), the job store's database (chunked rows: the
cluster default, no shared disk) or S3-compatible object storage. The features above keep
ownership, expiry, size caps and leftover sweeps; this package only stores bytes.
"""
