"""JobStore: every read and write of job records, as short transactions on one engine.

Status changes are compare-and-set updates (``WHERE status = <expected>``) checked against
:mod:`app.jobs.status` first, so the database holds the state machine even when several
threads or servers race: a claim, a cancel and a finishing tool each either win or see
``None``. Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the single
``UPDATE … RETURNING`` runs under the database write lock. Either way no job is handed to
two dispatchers.

The hot-path statements (insert, get, claim, finish, progress) are built once with bound
parameters: the job queue's throughput is mostly SQLAlchemy's per-statement overhead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from app.errors import ErrorCode, VisorError
from app.jobs.models import Job, JobList, JobQuery
from app.jobs.status import TERMINAL_STATUSES, IllegalJobTransition, JobStatus
from app.jobs.store.input_files import JobInputFiles
from app.jobs.store.tables import job_images, jobs, workers
from app.store import leftovers
from app.store.clock import iso_from_micros, now_us, to_micros
from app.store.cursors import decode_cursor, encode_cursor
from app.store.engine import WRITE, is_sqlite
from app.tracing import spans as tracing
from app.units import human_bytes

_PURGE_CHUNK = 500


class IdempotencyKeyTaken(Exception):
    """Another submit stored a job with this idempotency key first."""


_PENDING = JobStatus.PENDING.value
_RUNNING = JobStatus.RUNNING.value


def _touched(stamp: Any) -> Any:
    """``updated_us`` for a change made at ``stamp``: strictly increasing per job.

    Two writers take their timestamps before they queue for the row, so the later commit
    can carry the earlier time; bumping past the stored value keeps ``updated_at`` a true
    version (event streams order changes by it)."""
    return case((jobs.c.updated_us >= stamp, jobs.c.updated_us + 1), else_=stamp)


_CANDIDATES = select(jobs.c.id, jobs.c.plugin, jobs.c.owner, jobs.c.attempts, jobs.c.max_attempts)
_ANY_PENDING = select(jobs.c.id).where(jobs.c.status == _PENDING).limit(1)
_INSERT_JOB = insert(jobs)
_INSERT_IMAGE = insert(job_images)
_GET = select(jobs).where(jobs.c.id == bindparam("b_id"))
_GET_IDEMPOTENT = select(jobs).where(jobs.c.idempotency_key == bindparam("b_key"))
_GET_IMAGE = select(job_images.c.image).where(job_images.c.job_id == bindparam("b_id"))
# The oldest PENDING ids, locked, as a materialised CTE: PostgreSQL must evaluate the
# LIMIT … FOR UPDATE SKIP LOCKED exactly once (as a plain IN-subquery the planner may
# rescan it and hand out more rows than asked for).
_PICKED = (
    select(jobs.c.id)
    .where(jobs.c.status == _PENDING)
    .order_by(jobs.c.created_us)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True)
    .cte("picked")
    .prefix_with("MATERIALIZED", dialect="postgresql")
)
_CLAIM = (
    update(jobs)
    .where(jobs.c.id.in_(select(_PICKED.c.id)), jobs.c.status == _PENDING)
    .values(
        status=_RUNNING,
        attempts=jobs.c.attempts + 1,
        owner=bindparam("b_owner"),
        started_us=bindparam("b_stamp"),
        updated_us=_touched(bindparam("b_stamp")),
        progress=None,
        progress_message=None,
    )
    .returning(*jobs.c)
)
# "This worker still runs this job": the guard of every write a running job makes.
_OWNED_RUNNING = (
    jobs.c.id == bindparam("b_id"),
    jobs.c.status == _RUNNING,
    jobs.c.owner == bindparam("b_owner"),
)
_FINISH = (
    update(jobs)
    .where(*_OWNED_RUNNING)
    .values(
        status=bindparam("b_status"),
        result=bindparam("b_result"),
        error=bindparam("b_error"),
        progress=func.coalesce(bindparam("b_progress"), jobs.c.progress),
        finished_us=bindparam("b_stamp"),
        updated_us=_touched(bindparam("b_stamp")),
        input_bytes=None,
    )
    .returning(*jobs.c)
)
_INPUT_BYTES_HELD = select(func.coalesce(func.sum(jobs.c.input_bytes), 0)).where(
    jobs.c.input_bytes.is_not(None)
)
_PROGRESS = (
    update(jobs)
    .where(*_OWNED_RUNNING)
    .values(
        progress=bindparam("b_progress"),
        progress_message=bindparam("b_message"),
        updated_us=_touched(bindparam("b_stamp")),
    )
    .returning(*jobs.c)
)


@dataclass(frozen=True)
class JobInput:
    """What a job runs on: the tool arguments and, optionally, one image (raw bytes)."""

    args: dict[str, Any]
    image: bytes | None = None
    mime_type: str | None = None
    media: str | None = None  # a staged blob moved in with the input (a video job's video)


@dataclass(frozen=True)
class ClaimedJob:
    """A job a dispatcher just claimed, with what it needs to build the payload."""

    job: Job
    args: dict[str, Any]
    has_image: bool
    mime_type: str | None
    external: bool = False  # the input lives in files (JobInputFiles), read by load_input
    trace_context: str | None = None  # the submitter's traceparent (tracing on)


@dataclass(frozen=True)
class WorkerRow:
    id: str
    hostname: str
    pid: int
    process_started: float
    started_us: int
    heartbeat_us: int


def job_from_row(row: RowMapping | Mapping[str, Any]) -> Job:
    result = row["result"]
    error = row["error"]
    job = Job.model_validate(
        {
            "id": row["id"],
            "plugin": row["plugin"],
            "tool": row["tool"],
            "status": row["status"],
            "attempts": row["attempts"],
            "max_attempts": row["max_attempts"],
            "progress": row["progress"],
            "progress_message": row["progress_message"],
            "created_at": iso_from_micros(row["created_us"]),
            "started_at": iso_from_micros(row["started_us"]),
            "finished_at": iso_from_micros(row["finished_us"]),
            "updated_at": iso_from_micros(row["updated_us"]),
            "result": orjson.loads(result) if result is not None else None,
            "error": orjson.loads(error) if error is not None else None,
            "input_mime_type": row.get("mime_type"),
        }
    )
    job._key_id = row["key_id"]
    return job


def _json(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value is not None else None


class MissingInput(LookupError):
    """A claimed job's stored input is gone (e.g. a data directory not shared by servers)."""


class JobStore:
    def __init__(self, engine: Engine, input_files: JobInputFiles | None = None) -> None:
        self._engine = engine
        self._input_files = input_files
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if is_sqlite(engine) else contextlib.nullcontext()
        )

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def input_files(self) -> JobInputFiles | None:
        return self._input_files

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit.

        On SQLite this process's writers first queue on a mutex: SQLite's own busy handler
        makes a blocked writer sleep 1, 2, 5, 10… ms before retrying, which would cost the
        queue milliseconds per contended write. Other processes sharing the file still
        meet ``busy_timeout``.
        """
        with (
            self._write_lock,
            self._engine.connect().execution_options(**WRITE) as conn,
            conn.begin(),
        ):
            yield conn

    def ping(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self._engine.dispose()

    # -- submit and read --------------------------------------------------------------------

    def insert(
        self,
        job_id: str,
        plugin: str,
        tool: str | None,
        max_attempts: int,
        job_input: JobInput,
        *,
        key_id: str | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
    ) -> Job:
        """Store a new PENDING job. With ``idempotency_key``, raise
        :class:`IdempotencyKeyTaken` if a job holds that key already (a concurrent retry).

        With tracing on, the write is the ``visor.job.submit`` span and the job keeps its
        context: the server that claims the job continues this trace."""
        attributes = {"visor.job.id": job_id, "visor.plugin": plugin}
        with tracing.span("visor.job.submit", attributes):
            return self._insert(
                job_id, plugin, tool, max_attempts, job_input,
                key_id=key_id, idempotency_key=idempotency_key, request_hash=request_hash,
            )  # fmt: skip

    def _insert(
        self,
        job_id: str,
        plugin: str,
        tool: str | None,
        max_attempts: int,
        job_input: JobInput,
        *,
        key_id: str | None,
        idempotency_key: str | None,
        request_hash: str | None,
    ) -> Job:
        stamp = now_us()
        args_json = orjson.dumps(job_input.args)
        files = self._input_files
        external = files is not None and files.external(args_json, job_input.image, job_input.media)
        input_bytes = None
        if external:
            assert files is not None
            input_bytes = files.write(job_id, args_json, job_input.image, job_input.media)
        row = {
            "id": job_id,
            "plugin": plugin,
            "tool": tool,
            "status": _PENDING,
            "args": "{}" if external else args_json.decode(),
            "mime_type": job_input.mime_type if job_input.image is not None else None,
            "attempts": 0,
            "max_attempts": max_attempts,
            "progress": None,
            "progress_message": None,
            "result": None,
            "error": None,
            "owner": None,
            "key_id": key_id,
            "input_bytes": input_bytes,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            "trace_context": tracing.traceparent(),  # None (and free) while tracing is off
            "created_us": stamp,
            "started_us": None,
            "finished_us": None,
            "updated_us": stamp,
        }
        try:
            with self._transaction() as conn:
                if input_bytes is not None:
                    self._check_input_room(conn, input_bytes)
                conn.execute(_INSERT_JOB, row)
                if job_input.image is not None and not external:
                    conn.execute(_INSERT_IMAGE, {"job_id": job_id, "image": job_input.image})
        except BaseException as exc:
            if external:
                assert files is not None
                files.remove(job_id)
            if idempotency_key is not None and isinstance(exc, IntegrityError):
                raise IdempotencyKeyTaken(idempotency_key) from None
            raise
        return job_from_row(row)

    def find_idempotent(self, idempotency_key: str) -> tuple[Job, str | None] | None:
        """The job submitted with ``idempotency_key`` and its request hash, if it still
        exists (the key goes with its job when retention deletes it)."""
        with self._engine.connect() as conn:
            row = conn.execute(_GET_IDEMPOTENT, {"b_key": idempotency_key}).mappings().first()
        return (job_from_row(row), row["request_hash"]) if row is not None else None

    def _check_input_room(self, conn: Connection, size: int) -> None:
        """Refuse (``overloaded``) an input the total limit for stored inputs has no room for."""
        assert self._input_files is not None
        limit = self._input_files.max_total_bytes
        held = int(conn.execute(_INPUT_BYTES_HELD).scalar() or 0)
        if held + size > limit:
            raise VisorError(
                f"stored job inputs would exceed {human_bytes(limit)} "
                f"(VISOR_JOB_INPUTS_MAX_BYTES): {human_bytes(held)} held, this one is "
                f"{human_bytes(size)}; retry when running jobs have finished",
                code=ErrorCode.OVERLOADED,
                details={"limit_bytes": limit, "held_bytes": held, "retry_after_s": 5},
            )

    def load_input(self, item: ClaimedJob) -> tuple[dict[str, Any], bytes | None]:
        """A claimed job's args and image, wherever they are stored."""
        job_id = item.job.id
        if item.external and self._input_files is not None:
            try:
                args = orjson.loads(self._input_files.read_args(job_id))
            except FileNotFoundError:
                raise MissingInput(
                    f"the input of job {job_id} is missing from {self._input_files.where()} "
                    "(servers sharing a job store must share their data directory, or keep "
                    "blobs in the database: VISOR_BLOB_URL=database)"
                ) from None
        else:
            args = item.args
        image = self.get_image(job_id) if item.has_image else None
        if item.has_image and image is None:
            raise MissingInput(f"the image of job {job_id} is missing")
        return args, image

    def has_pending(self) -> bool:
        with self._engine.connect() as conn:
            return conn.execute(_ANY_PENDING).first() is not None

    def get(self, job_id: str) -> Job | None:
        with self._engine.connect() as conn:
            row = conn.execute(_GET, {"b_id": job_id}).mappings().first()
        return job_from_row(row) if row is not None else None

    def stored_input(self, job_id: str) -> JobInput | None:
        """A job's input as stored, for a re-run; None once it is gone (an input kept in
        files is freed when its job ends; an inline one lives until the job is purged)."""
        with self._engine.connect() as conn:
            row = conn.execute(_GET, {"b_id": job_id}).mappings().first()
        if row is None:
            return None
        image = self.get_image(job_id) if row["mime_type"] is not None else None
        if row["mime_type"] is not None and image is None:
            return None
        args: dict[str, Any] = orjson.loads(row["args"])
        if row["input_bytes"] is not None and self._input_files is not None:
            try:
                args = orjson.loads(self._input_files.read_args(job_id))
            except FileNotFoundError:
                return None
        return JobInput(args, image, row["mime_type"])

    def get_image(self, job_id: str) -> bytes | None:
        if self._input_files is not None:
            image = self._input_files.read_image(job_id)
            if image is not None:
                return image
        with self._engine.connect() as conn:
            image = conn.execute(_GET_IMAGE, {"b_id": job_id}).scalar()
        return bytes(image) if image is not None else None

    def list_jobs(self, query: JobQuery, *, key_id: str | None = None) -> JobList:
        """A page of jobs, newest first; only ``key_id``'s jobs when it is given."""
        columns = [
            null().label(c.name) if c.name == "result" and not query.results else c for c in jobs.c
        ]
        stmt = select(*columns)
        if key_id is not None:
            stmt = stmt.where(jobs.c.key_id == key_id)
        if query.status is not None:
            stmt = stmt.where(jobs.c.status == query.status.value)
        if query.plugin is not None:
            stmt = stmt.where(jobs.c.plugin == query.plugin)
        if query.tool is not None:
            stmt = stmt.where(jobs.c.tool == query.tool)
        if query.created_after is not None:
            stmt = stmt.where(jobs.c.created_us > to_micros(query.created_after))
        if query.created_before is not None:
            stmt = stmt.where(jobs.c.created_us < to_micros(query.created_before))
        if query.cursor:
            created, last_id = decode_cursor(query.cursor)
            stmt = stmt.where(
                or_(
                    jobs.c.created_us < created,
                    and_(jobs.c.created_us == created, jobs.c.id < last_id),
                )
            )
        stmt = stmt.order_by(jobs.c.created_us.desc(), jobs.c.id.desc()).limit(query.limit + 1)
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        page = rows[: query.limit]
        next_cursor = None
        if len(rows) > query.limit:
            last = page[-1]
            next_cursor = encode_cursor(last["created_us"], last["id"])
        return JobList(jobs=[job_from_row(r) for r in page], next_cursor=next_cursor)

    # -- the state machine ------------------------------------------------------------------

    def claim(self, owner: str, limit: int) -> list[ClaimedJob]:
        """Move up to ``limit`` of the oldest PENDING jobs to RUNNING for ``owner``."""
        JobStatus.PENDING.check_transition(JobStatus.RUNNING)
        params = {"b_limit": limit, "b_owner": owner, "b_stamp": now_us()}
        with self._transaction() as conn:
            rows = conn.execute(_CLAIM, params).mappings().all()
        claimed = [
            ClaimedJob(
                job_from_row(r),
                orjson.loads(r["args"]),
                r["mime_type"] is not None,
                r["mime_type"],
                r["input_bytes"] is not None,
                r["trace_context"],
            )
            for r in sorted(rows, key=lambda r: (r["created_us"], r["id"]))
        ]
        return claimed

    def finish(
        self,
        job_id: str,
        owner: str,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> Job | None:
        """RUNNING → SUCCESS/FAILED for the owner's attempt; ``None`` if it lost a race."""
        if status not in (JobStatus.SUCCESS, JobStatus.FAILED):
            raise IllegalJobTransition(JobStatus.RUNNING, status)  # not a way to finish
        JobStatus.RUNNING.check_transition(status)
        params = {
            "b_id": job_id,
            "b_owner": owner,
            "b_status": status.value,
            "b_result": _json(result),
            "b_error": _json(error),
            "b_progress": 1.0 if status is JobStatus.SUCCESS else None,
            "b_stamp": now_us(),
        }
        with self._transaction() as conn:
            row = conn.execute(_FINISH, params).mappings().first()
        if row is None:
            return None
        self._free_input(job_id)
        return job_from_row(row)

    def report_progress(
        self, job_id: str, owner: str, fraction: float, message: str | None
    ) -> Job | None:
        params = {
            "b_id": job_id,
            "b_owner": owner,
            "b_progress": fraction,
            "b_message": message,
            "b_stamp": now_us(),
        }
        with self._transaction() as conn:
            row = conn.execute(_PROGRESS, params).mappings().first()
        return job_from_row(row) if row is not None else None

    def cancel(self, job_id: str, error: Mapping[str, Any]) -> tuple[Job | None, str | None]:
        """PENDING/RUNNING → CANCELLED, recording ``error`` (the ``cancelled`` section).

        Returns the job (``None`` if it was not cancellable) and, for a job that was
        running, the owner whose tool must be stopped."""
        sources = JobStatus.CANCELLED.sources()
        stamp = now_us()
        stmt = (
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status.in_([s.value for s in sources]))
            .values(
                status=JobStatus.CANCELLED.value,
                error=_json(dict(error)),
                finished_us=stamp,
                updated_us=_touched(stamp),
                input_bytes=None,
            )
            .returning(*jobs.c)
        )
        with self._transaction() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            return None, None
        self._free_input(job_id)
        return job_from_row(row), row["owner"]

    def _free_input(self, job_id: str) -> None:
        """A finished job's input files are no longer needed (nothing re-runs it)."""
        if self._input_files is not None:
            self._input_files.remove(job_id)

    def release(self, owner: str, error: Mapping[str, Any]) -> list[Job]:
        """Graceful shutdown: the owner's RUNNING jobs go back to PENDING (or FAILED with
        ``error`` once out of attempts)."""
        with self._transaction() as conn:
            candidates = conn.execute(
                _CANDIDATES.where(jobs.c.status == _RUNNING, jobs.c.owner == owner)
            ).all()
            return [self._release_one(conn, c, error) for c in candidates]

    def release_orphans(
        self, judge: Callable[[list[WorkerRow]], Collection[str]], error: Mapping[str, Any]
    ) -> list[Job]:
        """Crash recovery: RUNNING jobs whose worker is gone are retried or FAILED.

        ``judge`` names the live workers among the registered ones. The RUNNING jobs are
        read (and locked) *before* the workers: a worker that claimed one of them had
        registered before its claim, so it cannot be missing from the list and have its
        job taken while it runs. Workers judged dead are unregistered in the same
        transaction.
        """
        with self._transaction() as conn:
            candidates = conn.execute(
                _CANDIDATES.where(jobs.c.status == _RUNNING).with_for_update()
            ).all()
            rows = [WorkerRow(**dict(r)) for r in conn.execute(select(workers)).mappings()]
            alive = set(judge(rows))
            dead = [r.id for r in rows if r.id not in alive]
            if dead:
                conn.execute(delete(workers).where(workers.c.id.in_(dead)))
            return [
                self._release_one(conn, c, error)
                for c in candidates
                if c.owner is None or c.owner not in alive
            ]

    @staticmethod
    def _release_one(conn: Connection, candidate: Any, error: Mapping[str, Any]) -> Job:
        JobStatus.RUNNING.check_transition(JobStatus.PENDING)
        JobStatus.RUNNING.check_transition(JobStatus.FAILED)
        stamp = now_us()
        if candidate.attempts < candidate.max_attempts:
            values: dict[str, Any] = {
                "status": _PENDING,
                "owner": None,
                "progress": None,
                "progress_message": None,
            }
        else:
            section = dict(error)
            section["plugin"] = candidate.plugin
            section["details"] = {
                **dict(section.get("details") or {}),
                "attempts": candidate.attempts,
                "max_attempts": candidate.max_attempts,
            }
            values = {
                "status": JobStatus.FAILED.value,
                "error": _json(section),
                "finished_us": stamp,
                "input_bytes": None,  # its files go at purge time
            }
        values["updated_us"] = _touched(stamp)
        owner = candidate.owner
        guard = and_(
            jobs.c.id == candidate.id,
            jobs.c.status == _RUNNING,
            jobs.c.owner.is_(None) if owner is None else jobs.c.owner == owner,
        )
        row = conn.execute(update(jobs).where(guard).values(**values).returning(*jobs.c))
        return job_from_row(row.mappings().one())

    def not_running(self, job_ids: Iterable[str]) -> list[str]:
        """Of these jobs, those no longer RUNNING (e.g. cancelled through another server)."""
        ids = list(job_ids)
        if not ids:
            return []
        stmt = select(jobs.c.id).where(jobs.c.id.in_(ids), jobs.c.status != _RUNNING)
        with self._engine.connect() as conn:
            return list(conn.execute(stmt).scalars())

    def count_by_status(self, statuses: Collection[JobStatus]) -> dict[JobStatus, int]:
        """How many jobs are in each of ``statuses`` (the status index answers it)."""
        wanted = [s.value for s in statuses]
        stmt = (
            select(jobs.c.status, func.count())
            .where(jobs.c.status.in_(wanted))
            .group_by(jobs.c.status)
        )
        with self._engine.connect() as conn:
            found = {status: int(n) for status, n in conn.execute(stmt).all()}
        return {s: found.get(s.value, 0) for s in statuses}

    def pending_by_plugin(self) -> dict[str, tuple[int, int]]:
        """Per plugin, ``(PENDING jobs, created_us of the oldest)``: the autoscaling signal."""
        stmt = (
            select(jobs.c.plugin, func.count(), func.min(jobs.c.created_us))
            .where(jobs.c.status == _PENDING)
            .group_by(jobs.c.plugin)
        )
        with self._engine.connect() as conn:
            return {plugin: (int(n), int(oldest)) for plugin, n, oldest in conn.execute(stmt)}

    # -- retention --------------------------------------------------------------------------

    def purge_finished(self, before_us: int) -> int:
        """Delete finished jobs (and their images) that finished before ``before_us``."""
        terminal = [s.value for s in TERMINAL_STATUSES]
        total = 0
        while True:
            with self._transaction() as conn:
                ids = list(
                    conn.execute(
                        select(jobs.c.id)
                        .where(jobs.c.status.in_(terminal), jobs.c.finished_us < before_us)
                        .limit(_PURGE_CHUNK)
                    ).scalars()
                )
                if ids:
                    conn.execute(delete(job_images).where(job_images.c.job_id.in_(ids)))
                    conn.execute(delete(jobs).where(jobs.c.id.in_(ids)))
            for job_id in ids:  # e.g. a job failed by recovery, whose files were never freed
                self._free_input(job_id)
            total += len(ids)
            if len(ids) < _PURGE_CHUNK:
                return total

    def sweep_input_leftovers(self, older_than_s: float = leftovers.LEFTOVER_AGE_S) -> int:
        """Delete input files a crash left without a job (see :class:`JobInputFiles`)."""
        if self._input_files is None:
            return 0
        return self._input_files.sweep_leftovers(self._existing_ids, older_than_s=older_than_s)

    def _existing_ids(self, job_ids: list[str]) -> set[str]:
        with self._engine.connect() as conn:
            return set(conn.execute(select(jobs.c.id).where(jobs.c.id.in_(job_ids))).scalars())

    # -- dispatchers ------------------------------------------------------------------------

    def register_worker(self, worker: WorkerRow) -> None:
        with self._transaction() as conn:
            conn.execute(insert(workers), worker.__dict__)

    def heartbeat(self, worker: WorkerRow) -> None:
        """Refresh the worker's heartbeat; register it again if others judged it dead."""
        with self._transaction() as conn:
            stamp = now_us()
            updated = conn.execute(
                update(workers).where(workers.c.id == worker.id).values(heartbeat_us=stamp)
            )
            if updated.rowcount == 0:
                conn.execute(insert(workers), {**worker.__dict__, "heartbeat_us": stamp})

    def remove_workers(self, worker_ids: Collection[str]) -> None:
        if not worker_ids:
            return
        with self._transaction() as conn:
            conn.execute(delete(workers).where(workers.c.id.in_(list(worker_ids))))

    def workers(self) -> list[WorkerRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(workers)).mappings().all()
        return [WorkerRow(**dict(r)) for r in rows]
