"""One input, one answer, on every REST door (issue 10, items 5 and 6).

One table of hostile and edge inputs is sent through analyze, the run route (JSON and
multipart) and jobs (JSON and multipart); each must get the same status and code
everywhere. Jobs answer 202 for inputs that are fine, then run them.
"""

from __future__ import annotations

import base64
import functools
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import builtin_sources, plugin_sources
from PIL import Image

LIMIT_IMAGE = 64 * 1024
LIMIT_REQUEST = 512 * 1024


@pytest.fixture
def client(make_client: Any) -> TestClient:
    return make_client(
        [*plugin_sources("echo"), *builtin_sources("image_info")],
        force_in_process=True,
        max_image_bytes=LIMIT_IMAGE,
        max_request_bytes=LIMIT_REQUEST,
        max_video_bytes=LIMIT_REQUEST,  # /v1/files also takes videos, up to their own limit
    )


def _noise_png(min_bytes: int) -> bytes:
    side = 64
    while True:
        image = Image.effect_noise((side, side), 80).convert("RGB")
        buf = io.BytesIO()
        image.save(buf, "PNG")
        if len(buf.getvalue()) > min_bytes:
            return buf.getvalue()
        side *= 2


# A case is (plugin, tool, args, raw JSON body override or None)
Case = dict[str, Any]
Door = Callable[[TestClient, Case], tuple[int, dict[str, Any]]]


def _json_body(case: Case, with_plugin: bool) -> bytes | None:
    if "raw" in case:
        return case["raw"] if with_plugin else case.get("raw_args", case["raw"])
    return None


def _answer(response: Any) -> tuple[int, dict[str, Any]]:
    body = response.json()
    return response.status_code, body.get("error") or body


def analyze(client: TestClient, case: Case) -> tuple[int, dict[str, Any]]:
    raw = _json_body(case, with_plugin=True)
    if raw is not None:
        return _answer(client.post("/v1/analyze", content=raw, headers=_JSON))
    body = {"plugin": case["plugin"], "tool": case.get("tool"), **case["args"]}
    return _answer(client.post("/v1/analyze", json=body))


def run_json(client: TestClient, case: Case) -> tuple[int, dict[str, Any]]:
    path = f"/v1/plugins/{case['plugin']}/tools/{case.get('tool') or 'describe'}/run"
    raw = _json_body(case, with_plugin=False)
    if raw is not None:
        return _answer(client.post(path, content=raw, headers=_JSON))
    return _answer(client.post(path, json=case["args"]))


def run_multipart(client: TestClient, case: Case) -> tuple[int, dict[str, Any]]:
    path = f"/v1/plugins/{case['plugin']}/tools/{case.get('tool') or 'describe'}/run"
    args_text, files = _multipart_parts(case)
    return _answer(client.post(path, data={"args": args_text}, files=files))


def jobs_json(client: TestClient, case: Case) -> tuple[int, dict[str, Any]]:
    raw = _json_body(case, with_plugin=True)
    if raw is not None:
        return _answer(client.post("/v1/jobs", content=raw, headers=_JSON))
    body = {"plugin": case["plugin"], "tool": case.get("tool"), **case["args"]}
    return _answer(client.post("/v1/jobs", json=body))


def jobs_multipart(client: TestClient, case: Case) -> tuple[int, dict[str, Any]]:
    args_text, files = _multipart_parts(case)
    data = {"plugin": case["plugin"], "args": args_text}
    if case.get("tool"):
        data["tool"] = case["tool"]
    return _answer(client.post("/v1/jobs", data=data, files=files))


def _multipart_parts(case: Case) -> tuple[str, dict[str, Any]]:
    """The image goes in the 'file' part (bytes); everything else in 'args'."""
    if "raw" in case:
        return case.get("raw_args", case["raw"]).decode(), {"unused": ("x", b"")}
    args = dict(case["args"])
    image = args.pop("image", None)
    mime = args.pop("mime_type", None)
    files: dict[str, Any] = {"unused": ("x", b"")}
    if image is not None:
        files = {"file": ("upload", base64.b64decode(image.split(",")[-1]), mime or "")}
    return json.dumps(args), files


_JSON = {"content-type": "application/json"}

DOORS: dict[str, Door] = {
    "analyze": analyze,
    "run-json": run_json,
    "run-multipart": run_multipart,
    "jobs-json": jobs_json,
    "jobs-multipart": jobs_multipart,
}


@functools.cache
def _cases() -> dict[str, tuple[Case, int, str]]:
    small = Image.new("RGB", (20, 10), (200, 10, 10))
    buf = io.BytesIO()
    small.save(buf, "PNG")
    png = base64.b64encode(buf.getvalue()).decode()
    big = base64.b64encode(_noise_png(LIMIT_IMAGE + 1)).decode()
    return {
        "lone surrogate in an argument": (
            {
                "raw": b'{"plugin": "image_info", "args": {"dominant_colors": "\\ud800"}}',
                "raw_args": b'{"dominant_colors": "\\ud800"}',
                "plugin": "image_info",
            },
            400,
            "invalid_input",
        ),
        "lone surrogate in the plugin name": (
            {
                "raw": b'{"plugin": "\\ud800"}',
                "raw_args": b'{"x": "\\udfff"}',
                "plugin": "image_info",
            },
            400,
            "invalid_input",
        ),
        "not JSON": (
            {"raw": b'{"plugin": "image_info",', "plugin": "image_info"},
            400,
            "invalid_input",
        ),
        "a JSON array": ({"raw": b"[1, 2]", "plugin": "image_info"}, 400, "invalid_input"),
        "image over the image limit": (
            {"plugin": "image_info", "args": {"image": big}},
            413,
            "payload_too_large",
        ),
        "empty mime_type": (
            {"plugin": "image_info", "args": {"image": png, "mime_type": ""}},
            200,
            "",
        ),
        "data: URL": (
            {"plugin": "image_info", "args": {"image": "data:image/png;base64," + png}},
            200,
            "",
        ),
        "mime_type contradicting the bytes": (
            {"plugin": "image_info", "args": {"image": png, "mime_type": "image/jpeg"}},
            400,
            "invalid_input",
        ),
        "unknown plugin": ({"plugin": "nope", "args": {}}, 404, "plugin_not_found"),
        "unknown tool": (
            {"plugin": "image_info", "tool": "nope", "args": {}},
            404,
            "tool_not_found",
        ),
    }


CASES = list(_cases())


@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.parametrize("name", CASES)
def test_one_answer_per_input(client: TestClient, door: str, name: str) -> None:
    case, status, code = _cases()[name]
    got_status, body = DOORS[door](client, case)
    if status == 200:
        assert got_status in (200, 202), body
        return
    assert (got_status, body["details"]["code"]) == (status, code), body


def _chunked(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(chunk, total - sent)
        sent += chunk


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/analyze", "application/json"),
        ("/v1/plugins/image_info/tools/describe/run", "application/json"),
        ("/v1/jobs", "application/json"),
        ("/v1/plugins/image_info/tools/describe/run", "multipart/form-data; boundary=x"),
        ("/v1/jobs", "multipart/form-data; boundary=x"),
        ("/v1/files", "multipart/form-data; boundary=x"),
    ],
)
def test_a_chunked_body_over_the_limit_is_413_everywhere(
    client: TestClient, path: str, content_type: str
) -> None:
    response = client.post(
        path, content=_chunked(LIMIT_REQUEST * 2), headers={"content-type": content_type}
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["details"]["code"] == "payload_too_large"


def test_405_has_its_own_code_and_a_complete_allow_header(client: TestClient) -> None:
    response = client.put("/v1/jobs/abc")
    assert response.status_code == 405
    error = response.json()["error"]
    assert error["details"]["code"] == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == {"GET", "DELETE", "OPTIONS"}
    response = client.patch("/v1/files")
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/jobs/abc", {"GET", "DELETE", "OPTIONS"}),
        ("/v1/jobs", {"GET", "POST", "OPTIONS"}),
        ("/v1/files/abc", {"GET", "DELETE", "OPTIONS"}),
        ("/v1/analyze", {"POST", "OPTIONS"}),
    ],
)
def test_options_lists_every_method(client: TestClient, path: str, methods: set[str]) -> None:
    response = client.options(path)
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == methods


@pytest.mark.parametrize("value", ["0.5", "1700000000", "-3", "1e9"])
def test_job_list_times_must_be_dates(client: TestClient, value: str) -> None:
    for name in ("created_before", "created_after"):
        response = client.get(f"/v1/jobs?{name}={value}")
        assert response.status_code == 400, response.text
        assert "ISO-8601" in response.json()["error"]["message"]
    assert client.get("/v1/jobs?created_before=2030-01-01T00:00:00Z").status_code == 200


def test_lone_surrogates_in_paths_and_queries(client: TestClient) -> None:
    for path in ("/v1/plugins/%ED%A0%80", "/v1/jobs/%ED%A0%80", "/v1/jobs?plugin=%ED%A0%80"):
        response = client.get(path)
        assert response.status_code < 500, response.text
