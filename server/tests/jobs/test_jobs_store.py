"""JobStore against the real databases: migrations, atomic claims, compare-and-set, purge."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from app.errors import ErrorCode, build_envelope, public_error
from app.jobs.dispatcher import interrupted_error
from app.jobs.status import JobStatus
from app.jobs.store.repository import JobInput, JobStore, WorkerRow
from app.jobs.store.tables import job_images
from app.services.job_management_service import JobManagementService
from app.store.clock import now_us
from app.store.engine import build_engine
from app.store.metadata import complete as complete_metadata
from app.store.migrate import VERSION_TABLE, include_name, upgrade


@pytest.fixture
def url(database_url: str | None, tmp_path: Path) -> str:
    return database_url or f"sqlite:///{tmp_path / 'jobs.sqlite3'}"


@pytest.fixture
def store(url: str) -> Iterator[JobStore]:
    engine = build_engine(url)
    upgrade(engine)
    store = JobStore(engine)
    yield store
    store.close()


def _add(store: JobStore, n: int = 1, **kwargs: object) -> list[str]:
    ids = [uuid.uuid4().hex for _ in range(n)]
    for job_id in ids:
        store.insert(job_id, "echo", "echo", int(kwargs.get("max_attempts", 3)), JobInput({}))  # type: ignore[call-overload]
    return ids


def test_migrations_build_exactly_the_model_and_are_idempotent(store: JobStore) -> None:
    upgrade(store.engine)  # a second start finds the schema current
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "include_name": include_name}
        )
        diff = compare_metadata(context, complete_metadata())
    assert diff == []


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()


def test_claims_race_and_no_job_is_claimed_twice(url: str, store: JobStore) -> None:
    """Several dispatchers (each its own engine, like separate servers) claim at once."""
    ids = set(_add(store, 300))
    claimed: list[list[str]] = []
    go = threading.Barrier(4)

    def claimer() -> None:
        own = JobStore(build_engine(url))
        mine: list[str] = []
        go.wait()
        while batch := own.claim(uuid.uuid4().hex[:8], 3):
            mine += [c.job.id for c in batch]
        claimed.append(mine)
        own.close()

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [job_id for mine in claimed for job_id in mine]
    assert len(everything) == len(set(everything)) == len(ids)
    assert set(everything) == ids
    assert {store.get(i).attempts for i in ids} == {1}  # type: ignore[union-attr]


def test_claim_takes_at_most_the_limit(store: JobStore) -> None:
    ids = _add(store, 5)
    assert [c.job.id for c in store.claim("w1", 2)] == ids[:2]
    assert [c.job.id for c in store.claim("w2", 1)] == ids[2:3]
    assert [c.job.id for c in store.claim("w3", 10)] == ids[3:]
    assert store.claim("w4", 10) == []


def test_claim_returns_the_input_and_oldest_first(store: JobStore) -> None:
    first = uuid.uuid4().hex
    store.insert(first, "echo", "echo", 3, JobInput({"a": 1}, b"\x89PNG...", "image/png"))
    second = _add(store)[0]
    claimed = store.claim("w1", 5)
    assert [c.job.id for c in claimed] == [first, second]
    assert claimed[0].args == {"a": 1} and claimed[0].has_image
    assert claimed[0].mime_type == "image/png" and not claimed[1].has_image
    assert store.get_image(first) == b"\x89PNG..."
    assert claimed[0].job.status is JobStatus.RUNNING and claimed[0].job.started_at


def test_status_changes_are_compare_and_set(store: JobStore) -> None:
    job_id = _add(store)[0]
    assert store.finish(job_id, "w1", JobStatus.SUCCESS, result={}) is None  # not RUNNING
    store.claim("w1", 1)
    assert store.finish(job_id, "other", JobStatus.SUCCESS, result={}) is None  # not owner
    cancel_error = public_error(build_envelope(ErrorCode.CANCELLED, "x"))["error"]
    cancelled, owner = store.cancel(job_id, cancel_error)
    assert cancelled is not None and cancelled.status is JobStatus.CANCELLED and owner == "w1"
    assert store.finish(job_id, "w1", JobStatus.SUCCESS, result={"late": 1}) is None
    assert store.report_progress(job_id, "w1", 0.5, "late") is None
    assert store.cancel(job_id, cancel_error) == (None, None)
    final = store.get(job_id)
    assert final is not None and final.result is None and final.status is JobStatus.CANCELLED


def test_illegal_transitions_raise_before_touching_the_store(store: JobStore) -> None:
    from app.jobs.status import IllegalJobTransition

    with pytest.raises(IllegalJobTransition):
        store.finish("x", "w1", JobStatus.PENDING)


def test_release_retries_or_fails_interrupted_jobs(store: JobStore) -> None:
    retry, exhausted = _add(store, 1)[0], _add(store, 1, max_attempts=1)[0]
    mine = _add(store)[0]
    store.claim("dead", 2)
    store.claim("alive", 1)
    for name in ("dead", "alive"):
        store.register_worker(WorkerRow(name, "host", 1, 0.0, now_us(), now_us()))
    released = {j.id: j for j in store.release_orphans(lambda rows: {"alive"}, interrupted_error())}
    assert [w.id for w in store.workers()] == ["alive"]  # the dead one is unregistered
    assert set(released) == {retry, exhausted}
    assert released[retry].status is JobStatus.PENDING and released[retry].attempts == 1
    failed = released[exhausted]
    assert failed.status is JobStatus.FAILED and failed.error is not None
    assert failed.error.details == {"code": "interrupted", "attempts": 1, "max_attempts": 1}
    assert failed.error.plugin == "echo"
    assert store.get(mine).status is JobStatus.RUNNING  # type: ignore[union-attr]


def test_purge_removes_finished_jobs_with_their_images(store: JobStore) -> None:
    done, pending = uuid.uuid4().hex, uuid.uuid4().hex
    for job_id in (done, pending):
        store.insert(job_id, "echo", "echo", 3, JobInput({}, b"bytes", "image/png"))
    store.claim("w1", 1)
    store.finish(done, "w1", JobStatus.SUCCESS, result={})
    assert store.purge_finished(before_us=0) == 0  # not yet expired
    assert store.purge_finished(before_us=now_us() + 1) == 1
    assert store.get(done) is None and store.get_image(done) is None
    assert store.get(pending) is not None and store.get_image(pending) == b"bytes"
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(job_images)).scalar() == 1


def test_workers_register_and_are_removed(store: JobStore) -> None:
    row = WorkerRow("w" * 32, "host", 1, 0.0, now_us(), now_us())
    store.register_worker(row)
    store.heartbeat(row)
    store.remove_workers([row.id])
    store.heartbeat(row)  # a worker judged dead by mistake registers again
    assert [w.id for w in store.workers()] == [row.id]
    store.remove_workers([row.id])
    assert store.workers() == []


def test_an_unreachable_store_is_reported_not_raised() -> None:
    from app.plugins.loader.plugin_registry import PluginRegistry
    from app.plugins.runtime.in_process import InProcessExecutor
    from app.services.plugin_management_service import PluginManagementService

    engine = build_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    service = JobManagementService(
        JobStore(engine), PluginManagementService(PluginRegistry(), InProcessExecutor())
    )
    assert service.ping() is False


def test_count_by_status_counts_the_queue(store: JobStore) -> None:
    active = (JobStatus.PENDING, JobStatus.RUNNING)
    assert store.count_by_status(active) == {JobStatus.PENDING: 0, JobStatus.RUNNING: 0}
    _add(store, 3)
    store.claim("worker-a", 1)
    assert store.count_by_status(active) == {JobStatus.PENDING: 2, JobStatus.RUNNING: 1}
    assert store.count_by_status([JobStatus.SUCCESS]) == {JobStatus.SUCCESS: 0}
