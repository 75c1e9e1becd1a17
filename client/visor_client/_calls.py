"""Every REST call of the API, described once as a :class:`~visor_client._core.Call`.

The sync and async clients send these; which calls may be resent after a dropped
connection is decided here, next to what they do.
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from visor_client._core import IDEMPOTENCY_HEADER, Call, Upload, new_idempotency_key
from visor_client.images import ImageInput, image_bytes, image_fields
from visor_client.models import FileInfo


def _quote(segment: str) -> str:
    return quote(segment, safe="")


def analyze(
    plugin: str,
    image: ImageInput,
    tool: str | None,
    *,
    image_ref: str | FileInfo | None,
    image_url: str | None,
    image_path: str | None,
    mime_type: str | None,
    render: bool,
    args: dict[str, Any],
) -> Call:
    body: dict[str, Any] = {
        "plugin": plugin,
        **image_fields(image, image_ref=image_ref, image_url=image_url, image_path=image_path),
    }
    if tool is not None:
        body["tool"] = tool
    if mime_type is not None:
        body["mime_type"] = mime_type
    if args:
        body["args"] = args
    if render:
        body["render"] = True
    return Call("POST", "/v1/analyze", json=body)  # no side effects: safe to resend


def submit_job(
    plugin: str,
    image: ImageInput,
    tool: str | None,
    *,
    image_ref: str | FileInfo | None,
    image_url: str | None,
    image_path: str | None,
    mime_type: str | None,
    args: dict[str, Any],
    max_attempts: int | None,
    wait: float | None,
    idempotency_key: str | None,
    timeout: httpx.Timeout,
) -> Call:
    body: dict[str, Any] = {
        "plugin": plugin,
        **image_fields(image, image_ref=image_ref, image_url=image_url, image_path=image_path),
    }
    for name, value in (("tool", tool), ("mime_type", mime_type), ("max_attempts", max_attempts)):
        if value is not None:
            body[name] = value
    if args:
        body["args"] = args
    return Call(
        "POST",
        "/v1/jobs",
        params={"wait": wait} if wait else None,
        json=body,
        headers={IDEMPOTENCY_HEADER: idempotency_key or new_idempotency_key()},
        timeout=_plus(timeout, wait),
    )


def _plus(timeout: httpx.Timeout, wait: float | None) -> httpx.Timeout | None:
    """A read timeout long enough for a server-side wait of ``wait`` seconds."""
    if not wait or timeout.read is None:
        return None
    return httpx.Timeout(timeout.read + wait, connect=timeout.connect)


def submit_video(
    video: ImageInput,
    *,
    video_ref: str | FileInfo | None,
    plugin: str | None,
    tool: str | None,
    pipeline: str | None,
    args: dict[str, Any],
    sample: dict[str, Any] | None,
    frames: bool,
    max_attempts: int | None,
    idempotency_key: str | None,
) -> Call:
    if isinstance(video, FileInfo):
        video, video_ref = None, video
    if (video is None) == (video_ref is None):
        raise TypeError("pass one video: a path or bytes, or video_ref")
    fields: dict[str, Any] = {
        "plugin": plugin,
        "tool": tool,
        "pipeline": pipeline,
        "args": args or None,
        "sample": sample,
        "max_attempts": max_attempts,
    }
    if not frames:
        fields["frames"] = False
    fields = {k: v for k, v in fields.items() if v is not None}
    headers = {IDEMPOTENCY_HEADER: idempotency_key or new_idempotency_key()}
    if video_ref is not None:
        ref = video_ref.id if isinstance(video_ref, FileInfo) else video_ref
        return Call("POST", "/v1/video/jobs", json={"video_ref": ref, **fields}, headers=headers)
    data = {
        k: jsonlib.dumps(v)
        if isinstance(v, dict)
        else str(v).lower()
        if isinstance(v, bool)
        else str(v)
        for k, v in fields.items()
    }
    return Call("POST", "/v1/video/jobs", data=data, upload=_upload(video), headers=headers)


def _upload(source: ImageInput) -> Upload:
    if isinstance(source, str | Path):
        path = Path(source)
        return Upload("file", path, path.name)
    data, name = image_bytes(source)
    return Upload("file", data, name)


def upload_file(file: ImageInput) -> Call:
    # Not resendable: a dropped connection may hide a stored file (it would be stored twice).
    return Call("POST", "/v1/files", upload=_upload(file), resendable=False)


def run_pipeline(
    pipeline: str | dict[str, Any],
    image: ImageInput,
    *,
    image_ref: str | FileInfo | None,
    image_url: str | None,
    image_path: str | None,
    mime_type: str | None,
) -> Call:
    body: dict[str, Any] = image_fields(
        image, image_ref=image_ref, image_url=image_url, image_path=image_path
    )
    if mime_type is not None:
        body["mime_type"] = mime_type
    if isinstance(pipeline, dict):
        return Call("POST", "/v1/pipelines/run", json={"spec": pipeline, **body})
    return Call("POST", f"/v1/pipelines/{_quote(pipeline)}/run", json=body)


def save_pipeline(spec: dict[str, Any] | str | bytes) -> Call:
    """JSON for a dict; text is sent as written (YAML or JSON), so comments survive."""
    if isinstance(spec, dict):
        return Call("POST", "/v1/pipelines", json=spec)  # saving again replaces: resendable
    text = spec.encode("utf-8") if isinstance(spec, str) else spec
    kind = "application/json" if text.lstrip().startswith(b"{") else "application/yaml"
    return Call("POST", "/v1/pipelines", content=text, headers={"content-type": kind})


def list_jobs(
    *,
    status: str | None,
    plugin: str | None,
    tool: str | None,
    created_after: str | None,
    created_before: str | None,
    limit: int,
    cursor: str | None,
    results: bool,
) -> Call:
    params = {
        "status": status,
        "plugin": plugin,
        "tool": tool,
        "created_after": created_after,
        "created_before": created_before,
        "limit": limit,
        "cursor": cursor,
        "results": None if results else False,
    }
    return Call("GET", "/v1/jobs", params=params)


def create_key(name: str, scope: str, expires_days: float | None, quotas: dict[str, Any]) -> Call:
    body = {"name": name, "scope": scope, "expires_days": expires_days, **quotas}
    # Not resendable: a retry after the key was made would answer 409 and lose the secret.
    return Call(
        "POST", "/v1/keys", json={k: v for k, v in body.items() if v is not None}, resendable=False
    )


def get(path: str, **params: Any) -> Call:
    return Call("GET", path, params=params or None)


def delete(path: str, *, resendable: bool = False) -> Call:
    """Not resendable by default: a retry after it worked would answer 404."""
    return Call("DELETE", path, resendable=resendable)


def path(*segments: str) -> str:
    return "/".join(_quote(s) if i else s for i, s in enumerate(segments))
