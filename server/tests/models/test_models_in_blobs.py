"""Model files through the blob store (issue 27): with ``VISOR_BLOB_URL=database`` a
registered model lives in the database, so its worker processes — and another server
sharing the database, with a data directory of its own — serve it without a shared disk."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from test_model_doors import CAT_BOX, photo, register


def test_a_model_in_the_database_serves_from_another_data_directory(
    make_client: Any, detector: tuple[Path, Path], settings: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    # worker processes read the repository with the server's settings, from the environment
    monkeypatch.setenv("VISOR_DATABASE_URL", url)
    monkeypatch.setenv("VISOR_BLOB_URL", "database")
    first = make_client([], workers_per_plugin=1, database_url=url, blob_url="database")
    answer = register(first, "cats", *detector)
    assert answer.status_code == 201, answer.text
    local = Path(settings.data_dir) / "models"
    assert not [p for p in local.rglob("*.onnx")], "the model went to the database, not disk"
    shutil.rmtree(local, ignore_errors=True)

    second = make_client(
        [], workers_per_plugin=1, database_url=url, blob_url="database",
        data_dir=tmp_path / "another-host",
    )  # fmt: skip
    for client in (first, second):
        reply = client.post("/v1/analyze", json={"plugin": "cats", "image": photo()})
        assert reply.status_code == 200, reply.text
        result = reply.json()["result"]
        assert result["detections"][0]["box"] == CAT_BOX
        assert result["model"] == {"name": "cats", "version": 1}
    info = second.get("/v1/models/cats").json()
    assert info["versions"][0]["size_bytes"] == detector[0].stat().st_size
