"""Pipelines over REST with the real built-in tools: checks, storage, runs, regions."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from helpers import builtin_sources, plugin_sources
from PIL import Image
from pipeline_specs import FACE_COLOURS

from app.main import create_app
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("pipelines"), _env_file=None)  # type: ignore[call-arg]
    app = create_app(
        settings,
        registry=PluginRegistry(),
        plugin_sources=[
            *builtin_sources("faces", "image_info", "barcode"),
            *plugin_sources("raises"),
        ],
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["details"]["code"] == code
    return error


# -- checks when saved -------------------------------------------------------------------------

BROKEN = [
    ("unknown plugin", [{"id": "a", "tool": "nope.read"}], "a", "not installed"),
    ("unknown tool", [{"id": "a", "tool": "barcode.nope"}], "a", "has no tool"),
    (
        "missing step",
        [{"id": "a", "tool": "image_info.describe", "for_each": "ghost.faces"}],
        "a",
        "does not exist",
    ),
    (
        "missing field",
        [
            {"id": "f", "tool": "faces.detect"},
            {"id": "b", "tool": "image_info.describe", "for_each": "f.noses"},
        ],
        "b",
        "no field 'noses'",
    ),
    (
        "for_each over a number",
        [
            {"id": "f", "tool": "faces.detect"},
            {"id": "b", "tool": "image_info.describe", "for_each": "f.count"},
        ],
        "b",
        "'f.count', which holds no regions (objects with a 'box'): it is an integer",
    ),
    (
        "for_each over the boxes alone",  # [x, y, w, h] lists: no object has a 'box'
        [
            {"id": "f", "tool": "faces.detect"},
            {"id": "b", "tool": "image_info.describe", "for_each": "f.faces.box"},
        ],
        "b",
        "'f.faces.box', which holds no regions (objects with a 'box'): it is a list of integers",
    ),
    (
        "for_each over a list of strings",
        [
            {"id": "f", "tool": "barcode.formats"},
            {"id": "b", "tool": "image_info.describe", "for_each": "f.formats"},
        ],
        "b",
        "holds no regions (objects with a 'box'): it is a list of strings",
    ),
    (
        "cycle",
        [
            {"id": "a", "tool": "barcode.read", "args_from": {"formats": "b.barcodes"}},
            {"id": "b", "tool": "barcode.read", "args_from": {"formats": "a.barcodes"}},
        ],
        None,
        "cycle",
    ),
    (
        "args against the schema",
        [{"id": "a", "tool": "faces.detect", "args": {"min_size": "big"}}],
        "a",
        "args do not fit",
    ),
    (
        "unknown arg",
        [{"id": "a", "tool": "image_info.describe", "args": {"dominant_colours": 2}}],
        "a",
        "args do not fit",
    ),
    (
        "image in args",
        [{"id": "a", "tool": "image_info.describe", "args": {"image": "AAAA"}}],
        "a",
        "the pipeline gives the image",
    ),
    (
        "same id twice",
        [{"id": "a", "tool": "faces.detect"}, {"id": "a", "tool": "barcode.read"}],
        "a",
        "same id",
    ),
]


@pytest.mark.parametrize(("case", "steps", "step", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_spec_is_refused_naming_the_step(
    client: TestClient, case: str, steps: list[dict[str, Any]], step: str | None, words: str
) -> None:
    name = "broken-" + case.replace(" ", "-")
    response = client.post("/v1/pipelines", json={"name": name, "steps": steps})
    error = _error(response, 400, "invalid_input")
    assert error["type"] == "ValidationError"
    assert words in error["message"], error["message"]
    if step is not None:
        assert error["details"]["step"] == step
    else:
        assert error["details"]["step"] in {"a", "b"}
    assert client.get(f"/v1/pipelines/{name}").status_code == 404  # nothing was saved


def test_for_each_accepts_what_holds_regions(client: TestClient) -> None:
    for source in ("f", "f.faces"):  # the whole result (regions within) or its list of faces
        steps = [
            {"id": "f", "tool": "faces.detect"},
            {"id": "b", "tool": "image_info.describe", "for_each": source},
        ]
        response = client.post("/v1/pipelines", json={"name": "regions", "steps": steps})
        assert response.status_code in {200, 201}, response.text


def test_a_spec_that_is_not_a_pipeline_is_refused(client: TestClient) -> None:
    for body in (
        b"{not json: [",
        b'{"name": "x", "steps": []}',
        b'{"name": "Bad Name!", "steps": [{"id": "a", "tool": "faces"}]}',
        b'{"name": "x", "steps": [{"id": "a", "tool": "faces", "colour": 1}]}',
        b"\x00",  # refused by the YAML reader as it is created
    ):
        _error(client.post("/v1/pipelines", content=body), 400, "invalid_input")


def _yaml(client: TestClient, text: str) -> Any:
    return client.post("/v1/pipelines", content=text, headers={"content-type": "application/yaml"})


def test_a_deeply_nested_spec_is_refused(client: TestClient) -> None:
    yaml_text = "name: deep\nsteps:\n- id: a\n  tool: faces\n  args:\n    x: " + "[" * 1000
    json_text = '{"name": "deep", "steps": [{"id": "a", "tool": "faces", "args": {"x": '
    for text, content_type in [
        (yaml_text + "]" * 1000, "application/yaml"),  # RecursionError in the YAML composer
        (json_text + "[" * 100_000 + "]" * 100_000 + "}}]}", "application/json"),
    ]:
        response = client.post(
            "/v1/pipelines", content=text, headers={"content-type": content_type}
        )
        error = _error(response, 400, "invalid_input")
        assert "nested deeper than" in error["message"] and error["details"]["limit"] > 0
        assert "Traceback" not in response.text
    deep_args = {"x": json.loads("[" * 100 + "]" * 100)}  # an inline spec is bounded too
    spec = {"steps": [{"id": "a", "tool": "image_info.describe", "args": deep_args}]}
    inline = client.post(
        "/v1/pipelines/run", json={"spec": spec, "image": _b64(SAMPLES / "qr.png")}
    )
    assert "VISOR_MAX_ARGS_DEPTH" in _error(inline, 400, "invalid_input")["message"]


def _laughs(levels: int) -> str:
    """A spec whose args hold 10**levels strings in a few hundred bytes of YAML aliases."""
    lines = ["name: laughs", "steps:", "- id: a", "  tool: image_info.describe", "  args:"]
    lines.append("    l0: &l0 [" + ",".join(["lol"] * 10) + "]")
    lines += [f"    l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_yaml_alias_expansion_is_refused_before_the_document_is_built(
    client: TestClient,
) -> None:
    # 10**6 strings here (10**8, the original report, cost a minute of CPU and ~20 GB)
    response = _yaml(client, _laughs(6))
    error = _error(response, 400, "invalid_input")
    assert "aliases expanded" in error["message"], error["message"]
    many = "name: many\nsteps:\n- id: a\n  tool: faces\n  args: &a {}\n"
    many += "".join(f"- id: s{i}\n  tool: faces\n  args: *a\n" for i in range(65))
    error = _error(_yaml(client, many), 400, "invalid_input")
    assert "more than 64 YAML aliases" in error["message"]
    error = _error(_yaml(client, "name: loop\nsteps: &s [*s]\n"), 400, "invalid_input")
    assert "alias inside the node it names" in error["message"]


def test_a_few_yaml_aliases_still_share_args(client: TestClient) -> None:
    text = """
name: shared
steps:
  - id: a
    tool: image_info.describe
    args: &colours {dominant_colors: 2}
  - id: b
    tool: image_info.describe
    args: *colours
"""
    response = _yaml(client, text)
    assert response.status_code in {200, 201}, response.text
    assert [s["args"] for s in response.json()["spec"]["steps"]] == [{"dominant_colors": 2}] * 2


def test_a_step_with_an_empty_tool_name_is_refused(client: TestClient) -> None:
    steps = [{"id": "a", "tool": ""}]
    error = _error(
        client.post("/v1/pipelines", json={"name": "empty", "steps": steps}), 400, "invalid_input"
    )
    assert error["details"]["errors"][0]["path"] == "/steps/0/tool"
    step_schema = client.get("/openapi.json").json()["paths"]["/v1/pipelines"]["post"]
    tool = step_schema["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert tool["steps"]["items"]["properties"]["tool"]["minLength"] == 1


# -- storage ----------------------------------------------------------------------------------


def test_save_list_get_replace_delete(client: TestClient) -> None:
    created = client.post("/v1/pipelines", json=FACE_COLOURS)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/pipelines/face-colours"
    assert created.json()["spec"]["steps"][1]["for_each"] == "faces.faces"
    names = [p["name"] for p in client.get("/v1/pipelines").json()["pipelines"]]
    assert "face-colours" in names
    replaced = client.post("/v1/pipelines", json={**FACE_COLOURS, "description": "v2"})
    assert replaced.status_code == 200
    assert client.get("/v1/pipelines/face-colours").json()["spec"]["description"] == "v2"
    assert client.delete("/v1/pipelines/face-colours").status_code == 200
    _error(client.get("/v1/pipelines/face-colours"), 404, "not_found")
    _error(client.delete("/v1/pipelines/face-colours"), 404, "not_found")


def test_a_spec_may_be_yaml(client: TestClient) -> None:
    text = """
name: codes
steps:
  - id: read
    tool: barcode.read
"""
    response = client.post(
        "/v1/pipelines", content=text, headers={"content-type": "application/yaml"}
    )
    assert response.status_code in {200, 201}, response.text
    assert response.json()["spec"]["steps"][0]["tool"] == "barcode.read"


# -- runs ---------------------------------------------------------------------------------------


def test_faces_then_colours_of_each_face(client: TestClient) -> None:
    assert client.post("/v1/pipelines", json=FACE_COLOURS).status_code in {200, 201}
    response = client.post(
        "/v1/pipelines/face-colours/run", json={"image": _b64(SAMPLES / "face.jpg")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    faces = body["steps"]["faces"]["faces"]
    assert len(faces) == 1
    (item,) = body["steps"]["colours"]
    assert item["box"] == faces[0]["box"]
    x, y, w, h = faces[0]["box"]
    # image_info saw the crop: the face box grown by the padding of 4 (inside the photo)...
    assert item["crop"] == [x - 4, y - 4, w + 8, h + 8]
    # ...and its width/height, like its coordinates, refer to the photo (docs/plugins.md)
    photo = body["steps"]["faces"]
    assert (item["result"]["width"], item["result"]["height"]) == (photo["width"], photo["height"])
    assert len(item["result"]["dominant_colors"]) == 2
    assert set(body["timings_ms"]) == {"faces", "colours"}
    assert body["pipeline"] == "face-colours"


def _two_codes() -> tuple[bytes, dict[str, tuple[int, int, int]]]:
    """A 1000x600 PNG with two QR codes at known places: text -> (x, y, side)."""
    canvas = Image.new("L", (1000, 600), 255)
    where = {}
    for text, (x, y) in {"left": (60, 120), "right": (560, 180)}.items():
        symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
        code = Image.fromarray(np.asarray(symbol.to_image(scale=8)))
        canvas.paste(code, (x, y))
        where[text] = (x, y, code.width)
    buf = io.BytesIO()
    canvas.save(buf, "PNG")
    return buf.getvalue(), where


def test_for_each_maps_regions_back_to_the_original_image(client: TestClient) -> None:
    png, where = _two_codes()
    spec = {
        "steps": [
            {"id": "find", "tool": "barcode.read"},
            {"id": "reread", "tool": "barcode.read", "for_each": "find.barcodes", "padding": 30},
        ]
    }
    body = {"spec": spec, "image": base64.b64encode(png).decode("ascii")}
    response = client.post("/v1/pipelines/run", json=body)
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]
    outer = {c["text"]: c for c in steps["find"]["barcodes"]}
    assert set(outer) == {"left", "right"}
    for item in steps["reread"]:
        (inner,) = item["result"]["barcodes"]
        x0, y0, side = where[inner["text"]]
        # read again on a crop, reported in the original image's pixels
        ix, iy, _, _ = inner["box"]
        assert abs(ix - outer[inner["text"]]["box"][0]) <= 3
        assert abs(iy - outer[inner["text"]]["box"][1]) <= 3
        assert x0 <= ix <= x0 + 60 and y0 <= iy <= y0 + 60  # inside the quiet zone
        for px, py in inner["polygon"]:
            assert x0 <= px <= x0 + side and y0 <= py <= y0 + side


def test_a_failing_step_returns_its_envelope_with_the_step(client: TestClient) -> None:
    spec = {
        "steps": [
            {"id": "first", "tool": "image_info.describe"},
            {"id": "boom", "tool": "raises"},
        ]
    }
    response = client.post(
        "/v1/pipelines/run", json={"spec": spec, "image": _b64(SAMPLES / "qr.png")}
    )
    error = _error(response, 500, "tool_error")
    assert error["type"] == "ExecutionError" and error["details"]["step"] == "boom"
    assert "Traceback" not in response.text


def test_a_bad_image_fails_before_any_step(client: TestClient) -> None:
    response = client.post("/v1/pipelines/run", json={"spec": FACE_COLOURS, "image": "not base64!"})
    _error(response, 400, "invalid_input")


def test_an_unknown_saved_pipeline_is_404(client: TestClient) -> None:
    _error(client.post("/v1/pipelines/ghost/run", json={"image": "AAAA"}), 404, "not_found")


def test_each_step_is_a_governed_counted_call(client: TestClient) -> None:
    before = {p["name"]: p["success_count"] for p in client.get("/v1/plugins").json()["plugins"]}
    assert client.post("/v1/pipelines", json=FACE_COLOURS).status_code in {200, 201}
    response = client.post(
        "/v1/pipelines/face-colours/run", json={"image": _b64(SAMPLES / "face.jpg")}
    )
    assert response.status_code == 200
    after = {p["name"]: p["success_count"] for p in client.get("/v1/plugins").json()["plugins"]}
    assert after["faces"] == before["faces"] + 1
    assert after["image_info"] == before["image_info"] + 1


# -- as a job -----------------------------------------------------------------------------------


def test_a_saved_pipeline_runs_as_a_job(client: TestClient) -> None:
    assert client.post("/v1/pipelines", json=FACE_COLOURS).status_code in {200, 201}
    body = {"plugin": "pipeline", "tool": "face-colours", "image": _b64(SAMPLES / "face.jpg")}
    response = client.post("/v1/jobs?wait=60", json=body)
    assert response.status_code == 200, response.text
    job = response.json()
    assert (job["plugin"], job["tool"], job["status"]) == ("pipeline", "face-colours", "SUCCESS")
    (face,) = job["result"]["steps"]["colours"]
    assert face["box"] == job["result"]["steps"]["faces"]["faces"][0]["box"]


def test_a_pipeline_job_keeps_the_spec_it_was_submitted_with(client: TestClient) -> None:
    spec = {"name": "pinned", "steps": [{"id": "info", "tool": "image_info.describe"}]}
    assert client.post("/v1/pipelines", json=spec).status_code in {200, 201}
    body = {"plugin": "pipeline", "tool": "pinned", "image": _b64(SAMPLES / "qr.png")}
    job = client.post("/v1/jobs?wait=60", json=body).json()
    assert client.delete("/v1/pipelines/pinned").status_code == 200
    assert job["status"] == "SUCCESS" and "info" in job["result"]["steps"]


def test_pipeline_job_refusals(client: TestClient) -> None:
    image = _b64(SAMPLES / "qr.png")
    missing = client.post("/v1/jobs", json={"plugin": "pipeline", "tool": "ghost", "image": image})
    _error(missing, 404, "not_found")
    assert client.post("/v1/pipelines", json=FACE_COLOURS).status_code in {200, 201}
    with_args = {"plugin": "pipeline", "tool": "face-colours", "image": image, "args": {"x": 1}}
    _error(client.post("/v1/jobs", json=with_args), 400, "invalid_input")
    _error(
        client.post("/v1/jobs", json={"plugin": "pipeline", "image": image}), 400, "invalid_input"
    )


def test_a_failing_pipeline_job_ends_failed_with_the_step(client: TestClient) -> None:
    spec = {"name": "boom", "steps": [{"id": "boom", "tool": "raises"}]}
    assert client.post("/v1/pipelines", json=spec).status_code in {200, 201}
    job = client.post("/v1/jobs?wait=60", json={"plugin": "pipeline", "tool": "boom"}).json()
    assert job["status"] == "FAILED"
    details = job["error"]["details"]
    assert (details["code"], details["step"]) == ("tool_error", "boom")
