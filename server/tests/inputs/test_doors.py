"""Every image form on every door, and one answer per bad input on every door.

One live server (real HTTP, real MCP client, real CLI) with input roots and trusted URL
host configured. Doors: /v1/analyze, the run route (JSON and multipart), jobs (JSON and
multipart), MCP and the CLI (against the server, and in-process).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from helpers import builtin_sources
from image_server import ImageServer
from live_server import LiveServer
from mcp import Client
from sqlalchemy import update
from typer.testing import CliRunner

from app.cli.main import cli
from app.files.tables import files
from app.settings import Settings

Answer = tuple[str, int | None, dict[str, Any]]  # ("ok"|"error", status, result|error)
PLUGIN, TOOL = "image_info", "describe"
MISSING_ID = "0" * 32
FULL_WIDTH_LOOPBACK = "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/x.png"  # 127.0.0.1


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, input_root: Path, trusted_host: ImageServer
) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("doors") / "data",
        force_in_process=True,
        input_roots=[input_root],
        allow_url_inputs=True,
        url_input_allow_networks=["127.0.0.2/32"],
        _env_file=None,
    )
    server = LiveServer(settings, builtin_sources(PLUGIN)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def uploaded(http: httpx.Client, photo_jpeg: bytes) -> str:
    response = http.post("/v1/files", files={"file": ("photo.jpg", photo_jpeg, "image/jpeg")})
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


# -- the doors ------------------------------------------------------------------------------


def _http_answer(response: httpx.Response) -> Answer:
    body = response.json()
    if response.status_code == 200:
        return "ok", 200, body["result"]
    return "error", response.status_code, body["error"]


def door_analyze(live: LiveServer, http: httpx.Client, form: dict[str, Any]) -> Answer:
    return _http_answer(http.post("/v1/analyze", json={"plugin": PLUGIN, **form}))


def door_run_json(live: LiveServer, http: httpx.Client, form: dict[str, Any]) -> Answer:
    return _http_answer(http.post(f"/v1/plugins/{PLUGIN}/tools/{TOOL}/run", json=form))


def door_run_multipart(live: LiveServer, http: httpx.Client, form: dict[str, Any]) -> Answer:
    data = {"args": json.dumps(form)}
    path = f"/v1/plugins/{PLUGIN}/tools/{TOOL}/run"
    return _http_answer(http.post(path, data=data, files={"unused": ("x", b"")}))


def _job_answer(http: httpx.Client, response: httpx.Response) -> Answer:
    if response.status_code != 202:
        return "error", response.status_code, response.json()["error"]
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while http.get(f"/v1/jobs/{job_id}").json()["status"] in ("PENDING", "RUNNING"):
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.02)
    return _http_answer(http.get(f"/v1/jobs/{job_id}/result"))


def door_jobs_json(live: LiveServer, http: httpx.Client, form: dict[str, Any]) -> Answer:
    return _job_answer(http, http.post("/v1/jobs", json={"plugin": PLUGIN, **form}))


def door_jobs_multipart(live: LiveServer, http: httpx.Client, form: dict[str, Any]) -> Answer:
    data = {"plugin": PLUGIN, "args": json.dumps(form)}
    return _job_answer(http, http.post("/v1/jobs", data=data, files={"unused": ("x", b"")}))


def door_mcp(live: LiveServer, http: httpx.Client, form: dict[str, Any]) -> Answer:
    async def call() -> Any:
        async with Client(live.mcp_url, mode="legacy") as client:
            return await client.call_tool(f"{PLUGIN}.{TOOL}", form)

    result = anyio.run(call)
    body = json.loads(result.content[0].text)
    return ("error", None, body["error"]) if result.is_error else ("ok", None, body)


def door_cli(live: LiveServer, http: httpx.Client, form: dict[str, Any]) -> Answer:
    args = ["run", f"{PLUGIN}.{TOOL}", "--args", json.dumps(form), "-s", live.url, "--json"]
    outcome = json.loads(CliRunner().invoke(cli, args).stdout.strip().splitlines()[-1])
    return (
        ("error", None, outcome["error"]) if "error" in outcome else ("ok", None, outcome["result"])
    )


DOORS: dict[str, Callable[[LiveServer, httpx.Client, dict[str, Any]], Answer]] = {
    "analyze": door_analyze,
    "run-json": door_run_json,
    "run-multipart": door_run_multipart,
    "jobs-json": door_jobs_json,
    "jobs-multipart": door_jobs_multipart,
    "mcp": door_mcp,
    "cli": door_cli,
}


# -- every form, every door -----------------------------------------------------------------


def _forms(photo: bytes, uploaded: str, trusted: ImageServer, root: Path) -> dict[str, Any]:
    return {
        "base64": {"image": base64.b64encode(photo).decode()},
        "base64-wrapped-76": {"image": base64.encodebytes(photo).decode()},
        "data-url": {"image": "data:image/jpeg;base64," + base64.b64encode(photo).decode()},
        "empty-mime-type": {"image": base64.b64encode(photo).decode(), "mime_type": ""},
        "image_ref": {"image_ref": uploaded},
        "image_url": {"image_url": trusted.url("/image")},
        "image_url-redirected": {"image_url": trusted.url("/redirect?to=/image")},
        "image_url-non-ascii": {"image_url": trusted.url("/bild-ü.jpg")},
        "image_path": {"image_path": str(root / "photo.jpg")},
        "image_path-relative": {"image_path": "photo.jpg"},
    }


FORMS = [
    "base64",
    "base64-wrapped-76",
    "data-url",
    "empty-mime-type",
    "image_ref",
    "image_url",
    "image_url-redirected",
    "image_url-non-ascii",
    "image_path",
    "image_path-relative",
]


@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.parametrize("form", FORMS)
def test_every_form_on_every_door(
    live: LiveServer,
    http: httpx.Client,
    photo_jpeg: bytes,
    uploaded: str,
    trusted_host: ImageServer,
    input_root: Path,
    door: str,
    form: str,
) -> None:
    payload = _forms(photo_jpeg, uploaded, trusted_host, input_root)[form]
    kind, _status, body = DOORS[door](live, http, payload)
    assert kind == "ok", body
    assert (body["format"], body["width"], body["height"]) == ("JPEG", 300, 200)


# -- one answer per bad input, on every door ------------------------------------------------


@pytest.fixture(scope="module")
def refs(live: LiveServer, photo_jpeg: bytes, http: httpx.Client) -> dict[str, str]:
    """An expired file id and another owner's file id (stored through the real store)."""
    store = live.app.state.file_store
    expired = http.post("/v1/files", files={"file": ("a.jpg", photo_jpeg)}).json()["id"]
    with store._engine.begin() as conn:  # expire it now rather than wait a day
        conn.execute(update(files).where(files.c.id == expired).values(expires_us=1))
    import io

    foreign = store.save(io.BytesIO(photo_jpeg), filename="b.jpg", owner="another-key").id
    return {"expired": expired, "foreign": foreign}


def _bad_inputs(
    photo: bytes, refs: dict[str, str], private: ImageServer, trusted: ImageServer
) -> dict[str, tuple[dict[str, Any], int, str]]:
    text_file = base64.b64encode(b"shopping list: milk, eggs\n").decode()
    b64 = base64.b64encode(photo).decode()
    to_private = private.url("/image")
    return {
        "not-base64": ({"image": "hello, world!"}, 400, "is not base64"),
        "a-path-as-image": ({"image": "/tmp/photo.jpg"}, 400, "file path"),
        "a-text-file": ({"image": text_file}, 400, "the bytes look like text"),
        "wrong-mime": (
            {"image": b64, "mime_type": "image/png"},
            400,
            "look like image/jpeg but mime_type says image/png",
        ),
        "unsupported-mime": ({"image": b64, "mime_type": "image/svg+xml"}, 400, "unsupported"),
        "two-forms": ({"image": b64, "image_ref": refs["expired"]}, 400, "give one of"),
        "missing-ref": ({"image_ref": MISSING_ID}, 400, "does not exist or has expired"),
        "expired-ref": ({"image_ref": refs["expired"]}, 400, "does not exist or has expired"),
        "foreign-ref": ({"image_ref": refs["foreign"]}, 400, "does not exist or has expired"),
        "url-loopback": ({"image_url": to_private}, 400, "127.0.0.1 is a loopback address"),
        "url-redirect-to-loopback": (
            {"image_url": trusted.url(f"/redirect?to={to_private}")},
            400,
            "loopback",
        ),
        "url-not-an-image": ({"image_url": trusted.url("/text")}, 400, "content type"),
        "url-file-scheme": ({"image_url": "file:///etc/passwd"}, 400, "http(s)"),
        "url-full-width-host": ({"image_url": FULL_WIDTH_LOOPBACK}, 400, "not a valid URL"),
        "path-dotdot": ({"image_path": "../secret.jpg"}, 400, "outside the allowed"),
        "path-symlink": ({"image_path": "escape.jpg"}, 400, "outside the allowed"),
        "path-text-file": ({"image_path": "sub/notes.txt"}, 400, "look like text"),
    }


BAD = [
    "not-base64",
    "a-path-as-image",
    "a-text-file",
    "wrong-mime",
    "unsupported-mime",
    "two-forms",
    "missing-ref",
    "expired-ref",
    "foreign-ref",
    "url-loopback",
    "url-redirect-to-loopback",
    "url-not-an-image",
    "url-file-scheme",
    "url-full-width-host",
    "path-dotdot",
    "path-symlink",
    "path-text-file",
]


@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.parametrize("case", BAD)
def test_one_answer_per_bad_input_on_every_door(
    live: LiveServer,
    http: httpx.Client,
    photo_jpeg: bytes,
    refs: dict[str, str],
    private_host: ImageServer,
    trusted_host: ImageServer,
    door: str,
    case: str,
) -> None:
    payload, status, fragment = _bad_inputs(photo_jpeg, refs, private_host, trusted_host)[case]
    hits = len(private_host.hits)
    kind, got_status, error = DOORS[door](live, http, payload)
    assert kind == "error", error
    assert (error["type"], error["details"]["code"]) == ("ValidationError", "invalid_input")
    assert got_status in (None, status)
    assert fragment in error["message"]
    assert error["details"].get("field") in (
        "image",
        "image_ref",
        "image_url",
        "image_path",
        "mime_type",
    )
    assert len(private_host.hits) == hits  # no door ever reached the private server


# -- one nesting limit, on every door -------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value  # type: ignore[no-any-return]


def door_mcp_raw(live: LiveServer, http: httpx.Client, form: dict[str, Any]) -> Answer:
    """A raw ``tools/call`` (the SDK's client refuses to serialise such depths itself)."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": f"{PLUGIN}.{TOOL}", "arguments": form},
    }
    headers = {
        "mcp-protocol-version": "2025-11-25",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
    }
    answer = http.post("/mcp", content=json.dumps(body), headers=headers)
    if answer.status_code == 400:  # the SDK's JSON-RPC parser stops at ~255 levels itself
        return "rpc-error", 400, answer.json()["error"]
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    payload = json.loads(result["content"][0]["text"])
    return ("error", None, payload["error"]) if result["isError"] else ("ok", None, payload)


NESTING_DOORS = {**DOORS, "mcp": door_mcp_raw}


@pytest.mark.parametrize("door", list(NESTING_DOORS))
@pytest.mark.parametrize("depth", [100, 300, 800])  # orjson writes ~250, parsers read ~1000
def test_args_nested_past_the_limit_are_refused_on_every_door(
    live: LiveServer, http: httpx.Client, photo_jpeg: bytes, door: str, depth: int
) -> None:
    # "args": analyze and jobs take tool arguments there; the run route takes it as one.
    payload = {"image": base64.b64encode(photo_jpeg).decode(), "args": _nested(depth)}
    kind, status, error = NESTING_DOORS[door](live, http, payload)
    if kind == "rpc-error":
        assert depth > 250 and error["code"] == -32700  # a parse error, not a crash
        return
    assert kind == "error", error
    assert (error["type"], error["details"]["code"]) == ("ValidationError", "invalid_input")
    assert status in (None, 400)
    assert "nested more than 64 levels deep" in error["message"]
    assert error["details"]["limit_depth"] == 64
