"""``visor blobs copy --to database`` (issue 27): a deployment's uploaded files and job
inputs move from the data directory into the database; a server started with
``VISOR_BLOB_URL=database`` then serves them with the directory gone."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import builtin_sources, png_bytes
from typer.testing import CliRunner

from app.cli.main import cli


def test_files_move_from_the_directory_to_the_database(
    make_client: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before: TestClient = make_client(builtin_sources("image_info"), force_in_process=True)
    image = png_bytes((40, 30))
    file_id = before.post("/v1/files", files={"file": ("a.png", image)}).json()["id"]
    inputs = Path(settings.data_dir) / "job-inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    (inputs / ".half.image.123.part").write_bytes(b"a crash's leftover: not copied")
    before.__exit__(None, None, None)

    monkeypatch.setenv("VISOR_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    first = runner.invoke(cli, ["blobs", "copy", "--to", "database"])
    assert first.exit_code == 0, first.output
    assert "files: 1 copied, 0 already there" in first.output
    assert "job-inputs: 0 copied" in first.output
    again = runner.invoke(cli, ["blobs", "copy", "--to", "database"])  # resumable
    assert "files: 0 copied, 1 already there" in again.output
    bad = runner.invoke(cli, ["blobs", "copy", "--to", "ftp://nowhere"])
    assert bad.exit_code == 2 and "VISOR_BLOB_URL" in bad.output

    shutil.rmtree(Path(settings.data_dir) / "files")  # nothing is read from disk any more
    after: TestClient = make_client(
        builtin_sources("image_info"), force_in_process=True, blob_url="database"
    )
    response = after.post("/v1/analyze", json={"plugin": "image_info", "image_ref": file_id})
    assert response.status_code == 200, response.text
    assert (response.json()["result"]["width"], response.json()["result"]["height"]) == (40, 30)
