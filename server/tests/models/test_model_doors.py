"""A user's model registered and called through every door: REST, a job, MCP, the CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from helpers import png_bytes
from waiting import wait_until

from app.cli.main import cli

#: Where the detector's box lands on a 640x480 image: [x, y, width, height].
CAT_BOX = [100, 50, 200, 200]


def photo() -> str:
    return base64.b64encode(png_bytes((640, 480))).decode()


def register(client, name: str, model: Path, manifest: Path, **fields: str):
    with model.open("rb") as fh:
        return client.post(
            "/v1/models",
            data={"name": name, **fields},
            files={"file": ("model.onnx", fh), "manifest": ("m.json", manifest.read_bytes())},
        )


def test_register_then_call_over_rest_jobs_and_mcp(make_client, detector) -> None:
    client = make_client([], workers_per_plugin=1)
    answer = register(client, "cats", *detector)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["version"] == 1
    assert body["model"]["plugin"] == "cats" and body["model"]["tool"] == "detect"
    assert body["check"]["outputs"][0]["shape"] == ["1", "1", "7"]

    manifest = client.get("/v1/plugins/cats").json()
    (tool,) = manifest["tools"]
    assert tool["name"] == "detect"
    assert {"image", "score_threshold", "classes", "version", "iou"} <= set(
        tool["input_schema"]["properties"]
    )
    assert tool["input_schema"]["properties"]["score_threshold"]["default"] == 0.3

    # REST
    answer = client.post("/v1/analyze", json={"plugin": "cats", "image": photo()})
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["detections"] == [
        {"box": CAT_BOX, "label": "cat", "class_id": 0, "confidence": 0.9}
    ]
    assert result["model"] == {"name": "cats", "version": 1}
    assert (result["width"], result["height"]) == (640, 480)

    # a bad argument is the caller's error, in the envelope
    answer = client.post(
        "/v1/analyze", json={"plugin": "cats", "image": photo(), "args": {"classes": ["cow"]}}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["details"]["code"] == "invalid_input"
    assert "cow" in answer.json()["error"]["message"]

    # a job
    answer = client.post("/v1/jobs", json={"plugin": "cats", "tool": "detect", "image": photo()})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    job = wait_until(
        lambda: (j := client.get(f"/v1/jobs/{job_id}").json())["status"] == "SUCCESS" and j,
        "the job to finish",
    )
    assert job["result"]["detections"][0]["box"] == CAT_BOX

    # MCP
    headers = {"accept": "application/json, text/event-stream", "host": "127.0.0.1"}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    reply = client.post("/mcp", json=init, headers=headers)
    assert reply.status_code == 200, reply.text
    session = reply.headers.get("mcp-session-id")
    if session:
        headers["mcp-session-id"] = session
    listed = client.post(
        "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=headers
    )
    assert "cats.detect" in listed.text
    called = client.post(
        "/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "cats.detect", "arguments": {"image": photo()}},
        },
        headers=headers,
    )
    assert called.status_code == 200, called.text
    assert '"isError":false' in called.text.replace(" ", "")
    assert "[100,50,200,200]" in called.text.replace(" ", "").replace("\\n", "")


def test_cli_adds_lists_runs_and_removes(tmp_path, monkeypatch, detector) -> None:
    from typer.testing import CliRunner

    monkeypatch.setenv("VISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VISOR_PLUGINS_ALLOWLIST", "image_info")
    monkeypatch.setenv("VISOR_FORCE_IN_PROCESS", "true")
    monkeypatch.delenv("VISOR_SERVER", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    model, manifest = detector
    added = runner.invoke(cli, ["models", "add", "cats", str(model), "--manifest", str(manifest)])
    assert added.exit_code == 0, added.output
    assert "cats@1" in added.output
    listed = runner.invoke(cli, ["models", "list", "--json"])
    assert json.loads(listed.stdout)["models"][0]["default_version"] == 1
    image = tmp_path / "photo.png"
    image.write_bytes(png_bytes((640, 480)))
    ran = runner.invoke(cli, ["run", "cats", str(image), "--json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout.splitlines()[-1])["result"]["detections"][0]["box"] == CAT_BOX
    removed = runner.invoke(cli, ["models", "remove", "cats@1"])
    assert removed.exit_code == 0, removed.output
    listed = runner.invoke(cli, ["models", "list", "--json"])
    assert json.loads(listed.stdout)["models"] == []
