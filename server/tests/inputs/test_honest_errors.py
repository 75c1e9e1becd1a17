"""Non-images, paths and mislabelled bytes get errors that say what is wrong (issue 16), and
the tool schemas say that mime_type is read from the bytes rather than defaulting to PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import builtin_sources
from typer.testing import CliRunner

from app.cli.main import cli


@pytest.fixture
def client(make_client: Any) -> TestClient:
    return make_client(builtin_sources("image_info"), force_in_process=True)


def test_schema_does_not_pretend_every_image_is_png(client: TestClient) -> None:
    manifest = client.get("/v1/plugins/image_info").json()
    mime = manifest["tools"][0]["input_schema"]["properties"]["mime_type"]
    assert mime.get("default") != "image/png"
    assert "read from the image's bytes" in mime["description"]
    image = manifest["tools"][0]["input_schema"]["properties"]["image"]
    assert "image_ref" in image["description"]


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/v1/plugins/image_info/tools/describe/run", {}),
        ("/v1/jobs", {"plugin": "image_info"}),
    ],
)
def test_a_text_file_uploaded_as_an_image(
    client: TestClient, path: str, fields: dict[str, str]
) -> None:
    response = client.post(
        path, data=fields, files={"file": ("notes.txt", b"shopping list: milk\n", "text/plain")}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"]["code"] == "invalid_input"
    assert "the bytes look like text" in error["message"]
    assert "application/octet-stream" not in error["message"]


def test_mislabelled_upload(client: TestClient, photo_jpeg: bytes) -> None:
    response = client.post(
        "/v1/plugins/image_info/tools/describe/run",
        files={"file": ("photo.png", photo_jpeg, "image/png")},
    )
    assert response.status_code == 400
    assert (
        "look like image/jpeg but mime_type says image/png" in response.json()["error"]["message"]
    )


@pytest.fixture
def local_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, input_root: Path) -> CliRunner:
    monkeypatch.setenv("VISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VISOR_PLUGINS_ALLOWLIST", "image_info")
    monkeypatch.setenv("VISOR_FORCE_IN_PROCESS", "true")
    monkeypatch.setenv("VISOR_INPUT_ROOTS", str(input_root))
    monkeypatch.delenv("VISOR_SERVER", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_cli_in_process_door(local_cli: CliRunner, input_root: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    result = local_cli.invoke(
        cli, ["run", "image_info.describe", str(notes), "--json"], catch_exceptions=False
    )
    assert result.exit_code != 0
    error = json.loads(result.stdout.strip().splitlines()[-1])["error"]
    assert "the bytes look like text" in error["message"]

    result = local_cli.invoke(
        cli, ["run", "image_info.describe", "--arg", "image_path=photo.jpg", "--json"]
    )
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1])["result"]["width"] == 300

    result = local_cli.invoke(
        cli, ["run", "image_info.describe", "--arg", "image_path=../secret.jpg", "--json"]
    )
    error = json.loads(result.stdout.strip().splitlines()[-1])["error"]
    assert "outside the allowed input directories" in error["message"]
