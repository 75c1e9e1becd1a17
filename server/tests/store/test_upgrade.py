"""A database made by the release before the database room (schema 0006) upgrades in place.

The database is built by the migrations up to 0006 (what that release ran at startup), given
a row in every table with plain SQL (not through today's table definitions), upgraded to
head the way a server start does, and read back through each feature's repository: moving
the tables between packages and adding migrations must neither lose nor misread a row.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from databases import throwaway_database
from sqlalchemy import inspect, text

from app.auth.store import KeyStore
from app.files.store import FileStore
from app.jobs.status import JobStatus
from app.jobs.store.repository import JobStore
from app.pipelines.store import PipelineStore
from app.store.clock import now_us
from app.store.engine import build_engine
from app.store.migrate import VERSION_TABLE, alembic_config, upgrade
from app.video.checkpoints import CheckpointStore

JOB = "a" * 32
KEY = "b" * 32
FILE = "c" * 32
WORKER = "d" * 32
HOUR_US = 3_600_000_000

#: One row per table of schema 0006, as that release wrote them.
ROWS = {
    "visor_jobs": {
        "id": JOB, "plugin": "video", "tool": None, "status": "RUNNING", "args": '{"n": 1}',
        "mime_type": "image/png", "attempts": 1, "max_attempts": 3, "progress": 0.5,
        "progress_message": "half", "result": None, "error": None, "owner": WORKER,
        "key_id": KEY, "input_bytes": None, "created_us": 1_000, "started_us": 2_000,
        "finished_us": None, "updated_us": 3_000,
    },
    "visor_job_images": {"job_id": JOB, "image": b"\x89PNG old bytes"},
    "visor_job_workers": {
        "id": WORKER, "hostname": "old-host", "pid": 42, "process_started": 1.5,
        "started_us": 1_000, "heartbeat_us": 2_000,
    },
    "visor_files": {
        "id": FILE, "owner": KEY, "filename": "cat.png", "mime_type": "image/png",
        "size_bytes": 4, "sha256": "0" * 64, "created_us": 1_000, "expires_us": None,
    },
    "visor_api_keys": {
        "id": KEY, "name": "ci", "scope": "run", "digest": "1" * 64, "created_us": 1_000,
        "expires_us": None, "revoked_us": None, "last_used_us": None, "rate_per_s": 2.5,
        "burst": 5, "max_concurrent": 1,
    },
    "visor_pipelines": {
        "name": "describe", "created_us": 1_000, "updated_us": 2_000,
        "spec": '{"name": "describe", "steps": [{"id": "info", "tool": "image_info.describe"}]}',
    },
    "visor_video_frames": {
        "job_id": JOB, "idx": 0, "frame": 12, "pts": 480, "body": '{"t_s": 0.5, "result": {}}',
    },
}  # fmt: skip


def _complete_metadata_tables() -> set[str]:
    code = "from app.store.metadata import complete; print(*sorted(complete().tables))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'made-by-0006.sqlite3'}"
        return
    with throwaway_database("visor_upgrade") as pg_url:
        yield pg_url


def test_a_0006_database_upgrades_in_place_and_every_row_reads_back(
    url: str, tmp_path: Path
) -> None:
    engine = build_engine(url)
    try:
        upgrade(engine, "0006")
        assert set(ROWS) == {t for t in inspect(engine).get_table_names() if t != VERSION_TABLE}
        expires = now_us() + HOUR_US  # the file must not have expired when it is read back
        with engine.begin() as conn:
            for table, row in ROWS.items():
                values = {**row, "expires_us": expires} if table == "visor_files" else row
                columns = ", ".join(values)
                marks = ", ".join(f":{c}" for c in values)
                conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)

        upgrade(engine)  # what the next server start does

        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == head
        # Every table the migrations made is on the complete metadata (Alembic's view),
        # read in a fresh interpreter so no other import can have defined it.
        visor_tables = {t for t in inspect(engine).get_table_names() if t.startswith("visor_")}
        assert visor_tables - {VERSION_TABLE} == _complete_metadata_tables()

        jobs = JobStore(engine)
        job = jobs.get(JOB)
        assert job is not None
        assert (job.status, job.plugin, job.progress, job.key_id) == (
            JobStatus.RUNNING,
            "video",
            0.5,
            KEY,
        )
        assert job.created_at == "1970-01-01T00:00:00.001000Z"
        assert jobs.get_image(JOB) == b"\x89PNG old bytes"
        assert [(w.id, w.hostname, w.pid) for w in jobs.workers()] == [(WORKER, "old-host", 42)]

        [key] = KeyStore(engine).load()
        assert (key.id, key.name, key.scope.value, key.rate_per_s, key.burst) == (
            KEY,
            "ci",
            "run",
            2.5,
            5,
        )

        stored = FileStore(engine, tmp_path / "files").get(FILE, KEY)
        assert (stored.id, stored.filename, stored.mime_type, stored.size_bytes) == (
            FILE,
            "cat.png",
            "image/png",
            4,
        )

        saved = PipelineStore(engine).get("describe")
        assert [step.tool for step in saved.spec.steps] == ["image_info.describe"]

        [frame] = CheckpointStore(engine).load(JOB)
        assert (frame.sample.index, frame.sample.frame, frame.pts) == (0, 12, 480)
    finally:
        engine.dispose()
