"""Large job inputs live in files under the data directory, bounded in total (issue 10,
item 4): not database rows, freed when the job ends, swept at purge."""

from __future__ import annotations

import base64
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import builtin_sources
from jobs_helpers import wait_for_status
from PIL import Image
from sqlalchemy import func, select

from app.errors import ErrorCode, VisorError
from app.jobs.status import JobStatus
from app.jobs.store.input_files import JobInputFiles
from app.jobs.store.repository import JobInput, JobStore, MissingInput
from app.jobs.store.tables import job_images, jobs
from app.store import leftovers
from app.store.engine import build_engine
from app.store.migrate import upgrade

INLINE = 1024
BIG = bytes(range(256)) * 40  # 10 KiB: over the inline limit


@pytest.fixture
def url(database_url: str | None, tmp_path: Path) -> str:
    return database_url or f"sqlite:///{tmp_path / 'jobs.sqlite3'}"


@pytest.fixture
def files(tmp_path: Path) -> JobInputFiles:
    return JobInputFiles(tmp_path / "job-inputs", inline_bytes=INLINE, max_total_bytes=25_000)


@pytest.fixture
def store(url: str, files: JobInputFiles) -> Iterator[JobStore]:
    engine = build_engine(url)
    upgrade(engine)
    store = JobStore(engine, files)
    yield store
    store.close()


def _insert(store: JobStore, job_input: JobInput) -> str:
    job_id = uuid.uuid4().hex
    store.insert(job_id, "echo", "echo", 3, job_input)
    return job_id


def _count(store: JobStore, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_large_inputs_are_files_small_ones_rows(store: JobStore, files: JobInputFiles) -> None:
    small = _insert(store, JobInput({"a": 1}, b"tiny", "image/png"))
    big = _insert(store, JobInput({"note": "x" * 100}, BIG, "image/png"))
    big_args = _insert(store, JobInput({"blob": "y" * 5000}))
    assert _count(store, job_images) == 1  # only the small one's image is a row
    assert (files.root / f"{big}.image").read_bytes() == BIG
    assert not (files.root / f"{small}.image").exists()
    with store.engine.connect() as conn:
        row = conn.execute(
            select(jobs.c.args, jobs.c.input_bytes).where(jobs.c.id == big_args)
        ).one()
    assert row.args == "{}" and row.input_bytes > 5000  # the args are not in the row either

    claimed = {c.job.id: c for c in store.claim("w1", 10)}
    assert store.load_input(claimed[small]) == ({"a": 1}, b"tiny")
    assert store.load_input(claimed[big]) == ({"note": "x" * 100}, BIG)
    assert store.load_input(claimed[big_args]) == ({"blob": "y" * 5000}, None)

    for job_id in (small, big, big_args):
        assert store.finish(job_id, "w1", JobStatus.SUCCESS, result={}) is not None
    assert list(files.root.iterdir()) == []  # freed when the job ended


def test_total_stored_input_is_bounded(store: JobStore, files: JobInputFiles) -> None:
    first = _insert(store, JobInput({}, BIG, "image/png"))
    _insert(store, JobInput({}, BIG, "image/png"))
    with pytest.raises(VisorError) as refused:
        _insert(store, JobInput({}, BIG, "image/png"))
    assert refused.value.code is ErrorCode.OVERLOADED
    assert refused.value.details["limit_bytes"] == 25_000
    assert len(list(files.root.glob("*.image"))) == 2  # the refused one left nothing behind
    _insert(store, JobInput({"small": True}))  # inline inputs do not count
    error = {"type": "ExecutionError", "message": "x", "details": {"code": "cancelled"}}
    store.cancel(first, {**error, "timestamp": "2026-01-01T00:00:00Z"})
    _insert(store, JobInput({}, BIG, "image/png"))  # room again


def test_purge_sweeps_files_left_by_recovery(store: JobStore, files: JobInputFiles) -> None:
    job_id = _insert(store, JobInput({}, BIG, "image/png"))
    store.claim("dead-worker", 1)
    error = {"type": "ExecutionError", "message": "gone", "details": {"code": "interrupted"}}
    with store.engine.begin() as conn:  # out of attempts: recovery fails it
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(attempts=3))
    store.release_orphans(lambda rows: [], {**error, "timestamp": "2026-01-01T00:00:00Z"})
    assert store.get(job_id).status is JobStatus.FAILED  # type: ignore[union-attr]
    assert (files.root / f"{job_id}.image").exists()
    assert store.purge_finished(before_us=2**62) == 1
    assert list(files.root.iterdir()) == []


def test_a_missing_input_file_is_reported(store: JobStore, files: JobInputFiles) -> None:
    job_id = _insert(store, JobInput({"blob": "z" * 5000}, BIG, "image/png"))
    files.remove(job_id)  # a server that does not share this data directory
    (claimed,) = store.claim("w1", 1)
    with pytest.raises(MissingInput, match="share their data directory"):
        store.load_input(claimed)


@pytest.fixture
def client(make_client: Any) -> TestClient:
    return make_client(
        builtin_sources("image_info"),
        force_in_process=True,
        job_input_inline_bytes=INLINE,
        job_inputs_max_bytes=10 * 1024 * 1024,
    )


def _noise_png() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((120, 90), 60).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def test_a_job_with_a_large_image_runs_from_its_file(client: TestClient, settings: Any) -> None:
    image = _noise_png()
    assert len(image) > INLINE
    response = client.post(
        "/v1/jobs", json={"plugin": "image_info", "image": base64.b64encode(image).decode()}
    )
    assert response.status_code == 202, response.text
    done = wait_for_status(client, response.json()["id"], "SUCCESS", "FAILED")
    assert done["status"] == "SUCCESS", done["error"]
    assert (done["result"]["width"], done["result"]["height"]) == (120, 90)
    store = client.app.state.job_service.store
    assert _count(store, job_images) == 0
    assert list((Path(settings.data_dir) / "job-inputs").iterdir()) == []


def test_the_total_limit_answers_503_with_retry_after(make_client: Any) -> None:
    client: TestClient = make_client(
        builtin_sources("image_info"),
        force_in_process=True,
        job_input_inline_bytes=INLINE,
        job_inputs_max_bytes=INLINE,  # any external input is too much
    )
    image = base64.b64encode(_noise_png()).decode()
    response = client.post("/v1/jobs", json={"plugin": "image_info", "image": image})
    assert response.status_code == 503, response.text
    assert response.json()["error"]["details"]["code"] == "overloaded"
    assert int(response.headers["retry-after"]) >= 1


def test_a_sweep_deletes_what_a_crash_left_and_nothing_else(
    store: JobStore, files: JobInputFiles
) -> None:
    live = _insert(store, JobInput({"note": "x" * 100}, BIG, "image/png"))
    orphan = uuid.uuid4().hex
    files.write(orphan, b'{"note": 1}', BIG)  # written, then the crash: its row never came
    staging = files.root / ".incoming"  # where videos are staged (key .incoming/<id>.part)
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "video.part").write_bytes(b"half a video")
    (files.root / f".{orphan}.image.{uuid.uuid4().hex}.part").write_bytes(b"half an image")
    time.sleep(1.2)  # what follows is newer than the sweep's age limit
    fresh = uuid.uuid4().hex
    files.write(fresh, b"{}", BIG)  # a submit in progress: its row is about to be committed
    (staging / "uploading.part").write_bytes(b"still arriving")

    assert store.sweep_input_leftovers(older_than_s=1.0) == 4

    left = {p.name for p in files.root.rglob("*") if p.is_file()}
    assert left == {
        f"{live}.args.json",
        f"{live}.image",
        f"{fresh}.args.json",
        f"{fresh}.image",
        "uploading.part",
    }
    claimed = store.claim("w1", 10)
    assert [c.job.id for c in claimed] == [live]
    assert store.load_input(claimed[0]) == ({"note": "x" * 100}, BIG)


def test_purge_sweeps_leftovers_too(
    make_client: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client: TestClient = make_client([], job_input_inline_bytes=INLINE)
    root = Path(settings.data_dir) / "job-inputs"
    root.mkdir(parents=True, exist_ok=True)
    stray = root / f"{uuid.uuid4().hex}.args.json"
    stray.write_bytes(b"{}")
    kept = root / "notes.txt"  # not a name Visor writes: never touched
    kept.write_bytes(b"")
    monkeypatch.setattr(leftovers, "cutoff", lambda older_than_s: time.time() + 1)  # an hour on
    client.app.state.job_service.dispatcher.purge()
    assert not stray.exists() and kept.exists()
