"""``/v1/files``: upload (streamed to disk), list, get, delete; expiry, quota, owners."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import png_bytes
from sqlalchemy import update

from app.files.tables import files
from app.store import leftovers


@pytest.fixture
def client(make_client: Any) -> TestClient:
    return make_client([])  # no plugins needed


def _upload(client: TestClient, data: bytes, name: str = "a.png", mime: str = "image/png") -> Any:
    return client.post("/v1/files", files={"file": (name, data, mime)})


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["details"]["code"] == code
    return error


def test_upload_get_list_delete(client: TestClient, settings: Any) -> None:
    data = png_bytes((40, 30))
    response = _upload(client, data, name="../../etc/scan.png", mime="application/octet-stream")
    assert response.status_code == 201, response.text
    info = response.json()
    assert response.headers["location"] == f"/v1/files/{info['id']}"
    assert info["mime_type"] == "image/png"  # from the bytes, not the declared type
    assert info["size_bytes"] == len(data)
    assert info["filename"] == "scan.png"  # no directories kept
    assert info["expires_at"] > info["created_at"]
    stored = Path(settings.data_dir) / "files" / info["id"]
    assert stored.read_bytes() == data  # on disk under the data directory

    assert client.get(f"/v1/files/{info['id']}").json() == info
    listing = client.get("/v1/files").json()
    assert [f["id"] for f in listing["files"]] == [info["id"]]
    assert listing["used_bytes"] == len(data)

    assert client.delete(f"/v1/files/{info['id']}").status_code == 200
    _error(client.get(f"/v1/files/{info['id']}"), 404, "not_found")
    _error(client.delete(f"/v1/files/{info['id']}"), 404, "not_found")
    assert not stored.exists()


def test_files_that_are_not_images_are_refused(client: TestClient) -> None:
    error = _error(
        _upload(client, b"dear diary\n", "notes.txt", "text/plain"), 400, "invalid_input"
    )
    assert "not an image: the bytes look like text" in error["message"]
    error = _error(_upload(client, b"%PDF-1.7\n...", "doc.pdf"), 400, "invalid_input")
    assert "a PDF document" in error["message"]
    _error(_upload(client, b""), 400, "invalid_input")


def test_upload_needs_multipart_with_a_file(client: TestClient) -> None:
    _error(client.post("/v1/files", json={"file": "x"}), 400, "invalid_input")
    _error(client.post("/v1/files", files={"other": ("a.png", png_bytes())}), 400, "invalid_input")


def test_size_limit(make_client: Any) -> None:
    client = make_client([], max_image_bytes=1000)
    error = _error(
        _upload(client, png_bytes((200, 200), (1, 2, 3)) + b"\0" * 2000), 413, "payload_too_large"
    )
    assert "limit of 1000 bytes" in error["message"]
    stored = Path(client.app.state.settings.data_dir) / "files"
    assert not [p for p in stored.rglob("*") if p.is_file()]  # no partial write is left


def test_quota_per_owner(make_client: Any) -> None:
    data = png_bytes((40, 30))
    client = make_client([], file_quota_bytes=2 * len(data) + 10)
    assert _upload(client, data).status_code == 201
    assert _upload(client, data).status_code == 201
    error = _error(_upload(client, data), 413, "payload_too_large")
    assert "storage quota exceeded" in error["message"]
    assert error["details"]["quota_bytes"] == 2 * len(data) + 10
    first = client.get("/v1/files").json()["files"][0]["id"]
    client.delete(f"/v1/files/{first}")
    assert _upload(client, data).status_code == 201  # room again


def test_expired_and_foreign_files_are_not_found(client: TestClient) -> None:
    store = client.app.state.file_store
    expired = _upload(client, png_bytes()).json()["id"]
    with store._engine.begin() as conn:
        conn.execute(update(files).where(files.c.id == expired).values(expires_us=1))
    foreign = store.save(io.BytesIO(png_bytes()), filename="b.png", owner="another-key").id
    for file_id in (expired, foreign, "0" * 32, "not-an-id", "../../etc/passwd"):
        _error(client.get(f"/v1/files/{file_id}"), 404, "not_found")
    assert client.get("/v1/files").json()["files"] == []
    # the other owner still sees theirs
    assert store.get(foreign, "another-key").id == foreign


def test_expired_files_are_purged_from_disk(client: TestClient, settings: Any) -> None:
    store = client.app.state.file_store
    old = _upload(client, png_bytes()).json()["id"]
    with store._engine.begin() as conn:
        conn.execute(update(files).where(files.c.id == old).values(expires_us=1))
    client.get("/v1/files")  # listing purges
    assert not (Path(settings.data_dir) / "files" / old).exists()


def test_uploads_a_crash_left_behind_are_swept(client: TestClient, settings: Any) -> None:
    store = client.app.state.file_store
    kept = _upload(client, png_bytes()).json()["id"]
    root = Path(settings.data_dir) / "files"
    (root / ".incoming").mkdir(exist_ok=True)  # where earlier versions left partial uploads
    (root / ".incoming" / "copying.part").write_bytes(b"half an upload")
    orphan = root / ("ab" * 16)  # renamed into place, then the crash: no row
    orphan.write_bytes(png_bytes())
    time.sleep(1.2)  # what follows is newer than the sweep's age limit
    fresh = root / ("cd" * 16)  # renamed into place, its row about to be committed
    fresh.write_bytes(png_bytes())

    assert store.sweep_leftovers(older_than_s=1.0) == 2
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == sorted([kept, fresh.name])
    assert client.get(f"/v1/files/{kept}").status_code == 200


def test_listing_sweeps_leftovers(
    client: TestClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(settings.data_dir) / "files"
    (root / ".incoming").mkdir(parents=True, exist_ok=True)
    stray = root / ".incoming" / "copying.part"
    stray.write_bytes(b"half an upload")
    monkeypatch.setattr(leftovers, "cutoff", lambda older_than_s: time.time() + 1)  # an hour on
    client.app.state.file_store._next_sweep = 0.0
    assert client.get("/v1/files").status_code == 200
    assert not stray.exists()


def test_the_listing_pages_like_jobs(make_client: Any) -> None:
    client = make_client([], file_max_count=20)
    ids = [_upload(client, png_bytes((8 + i, 8))).json()["id"] for i in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/files", params=params).json()
        assert len(page["files"]) <= 3
        assert (page["file_count"], page["max_files"]) == (7, 20)  # totals, whatever the page
        seen += [f["id"] for f in page["files"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))  # newest first, each file once
    assert client.get("/v1/files").json()["next_cursor"] is None  # 7 < the default 50
    _error(client.get("/v1/files", params={"limit": 501}), 400, "invalid_input")
    _error(client.get("/v1/files", params={"cursor": "not a cursor!"}), 400, "invalid_input")


def test_files_per_owner_are_capped(make_client: Any) -> None:
    client = make_client([], file_max_count=3)
    kept = [_upload(client, png_bytes((8 + i, 8))).json()["id"] for i in range(3)]
    error = _error(_upload(client, png_bytes((20, 20))), 413, "payload_too_large")
    assert "3 of 3 files" in error["message"] and "DELETE /v1/files" in error["message"]
    assert (error["details"]["file_count"], error["details"]["max_files"]) == (3, 3)
    assert client.delete(f"/v1/files/{kept[0]}").status_code == 200  # room again
    assert _upload(client, png_bytes((20, 20))).status_code == 201
