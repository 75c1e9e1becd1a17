"""Inputs by reference: every way a caller can hand Visor an image, resolved in one place.

A tool that takes ``image`` can be called with exactly one of ``image`` (base64, plain,
wrapped or a ``data:`` URL), ``image_ref`` (an uploaded file's id), ``image_url`` (off by
default, SSRF-guarded) or ``image_path`` (under configured roots). :class:`InputResolver`
in :mod:`app.inputs.resolver` turns all of them into ``image`` + ``mime_type`` before
ToolRunner validates the payload (docs/inputs.md).
"""
