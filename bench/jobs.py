"""End-to-end job throughput and latency on SQLite vs raw SQLite writes of the same rows.

Run: ``python bench/jobs.py``. A job is submitted through ``JobManagementService.submit``
(validated, stored durably with its input, dispatcher woken), claimed, run on a no-op tool
through PluginManagementService → ToolRunner, and finished; "done" is the moment the
SUCCESS row is committed (the dispatcher's status event, published after the commit).

Baseline, measured in the same run on the same disk with the same pragmas (WAL,
synchronous=NORMAL): a raw ``sqlite3`` INSERT of the job row and its input row, then an
UPDATE to SUCCESS, each its own transaction — the least any durable queue must write.

Targets on a 2-core machine: ≥ 500 jobs/s and median submit→done ≤ 5 ms.

``--http`` adds the same two measurements through a real server process (uvicorn, one
worker) and HTTP clients: ``POST /v1/jobs`` from 4 client threads, throughput up to the
last job's ``finished_at``; latency = POST, then ``GET /v1/jobs/{id}/events`` until the
final status, one job at a time — what a client that waits for its job pays. Client and
server share the machine's two cores.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from app.jobs.dispatcher import DispatcherOptions
from app.jobs.events import JobEventKind
from app.jobs.models import Job, JobSubmission
from app.jobs.status import JobStatus
from app.jobs.store.repository import JobStore
from app.plugins.loader.plugin_loader import source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry
from app.plugins.runtime.in_process import InProcessExecutor
from app.services.job_management_service import JobManagementService
from app.services.plugin_management_service import PluginManagementService
from app.store.engine import build_engine
from benchlib import IN_PROCESS, NoopPlugin, free_port

# -- baseline: raw sqlite3 -------------------------------------------------------------------


def baseline(path: Path, rows: int) -> tuple[float, float]:
    """Rows/s and median insert→update latency (ms) for raw SQLite writes."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, plugin TEXT, tool TEXT, status TEXT,"
        " attempts INT, max_attempts INT, result TEXT, created_us INT, finished_us INT,"
        " updated_us INT)"
    )
    conn.execute("CREATE INDEX ix_status ON jobs (status, created_us)")
    conn.execute("CREATE TABLE inputs (job_id TEXT PRIMARY KEY, args TEXT)")
    latencies = []
    started = time.perf_counter()
    for _ in range(rows):
        t0 = time.perf_counter()
        job_id = uuid.uuid4().hex
        now = time.time_ns() // 1000
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO jobs VALUES (?, 'bench_noop', 'noop', 'PENDING', 0, 3, NULL, ?, NULL, ?)",
            (job_id, now, now),
        )
        conn.execute("INSERT INTO inputs VALUES (?, '{}')", (job_id,))
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE jobs SET status='SUCCESS', attempts=1, result='{}', finished_us=?,"
            " updated_us=? WHERE id=?",
            (now, now, job_id),
        )
        conn.execute("COMMIT")
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    conn.close()
    return rows / elapsed, statistics.median(latencies)


# -- Visor -----------------------------------------------------------------------------------


class Waiter:
    """Collects the moment each job's final status was published."""

    def __init__(self) -> None:
        self.done: dict[str, float] = {}
        self.failed: list[Job] = []
        self._cond = threading.Condition()

    def __call__(self, kind: JobEventKind, job: Job) -> None:
        if kind is JobEventKind.STATUS and job.status.is_terminal:
            stamp = time.perf_counter()
            with self._cond:
                self.done[job.id] = stamp
                if job.status is not JobStatus.SUCCESS:
                    self.failed.append(job)
                self._cond.notify_all()

    def wait_for(self, count: int, timeout_s: float = 120.0) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.done) >= count, timeout_s)
        if not ok:
            raise TimeoutError(f"only {len(self.done)}/{count} jobs finished")


def build_service(path: Path, slots: int) -> JobManagementService:
    registry = PluginRegistry()
    plugins = PluginManagementService(
        registry, InProcessExecutor(), sources=[source_for_class(NoopPlugin)]
    )
    plugins.load()
    store = JobStore(build_engine(f"sqlite:///{path}"))
    service = JobManagementService(store, plugins, options=DispatcherOptions(slots=slots))
    service.start()
    return service


def visor_throughput(service: JobManagementService, jobs: int, submitters: int) -> float:
    waiter = Waiter()
    unsubscribe = service.events.subscribe(waiter)
    submission = JobSubmission.model_validate({"plugin": "bench_noop", "tool": "noop"})
    per_thread = jobs // submitters

    def submit_many() -> None:
        for _ in range(per_thread):
            service.submit(submission)

    threads = [threading.Thread(target=submit_many) for _ in range(submitters)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    waiter.wait_for(per_thread * submitters)
    elapsed = max(waiter.done.values()) - started
    unsubscribe()
    assert not waiter.failed, waiter.failed[0]
    return per_thread * submitters / elapsed


def visor_latency(service: JobManagementService, jobs: int) -> list[float]:
    """Submit one job at a time and wait for it: submit→done in ms."""
    submission = JobSubmission.model_validate({"plugin": "bench_noop", "tool": "noop"})
    waiter = Waiter()
    unsubscribe = service.events.subscribe(waiter)
    latencies = []
    for n in range(jobs):
        t0 = time.perf_counter()
        job = service.submit(submission)
        waiter.wait_for(n + 1)
        latencies.append((waiter.done[job.id] - t0) * 1000)
    unsubscribe()
    return latencies


# -- Visor over HTTP --------------------------------------------------------------------------


def serve(port: int, data_dir: str) -> None:
    """The server process of ``--http``: the default app with the no-op plugin."""
    import uvicorn

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        data_dir=Path(data_dir), log_level="WARNING", plugin_isolation=IN_PROCESS, _env_file=None
    )
    app = create_app(
        settings,
        registry=PluginRegistry(),
        plugin_sources=[source_for_class(NoopPlugin)],
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def http_measurements(tmp: Path, jobs: int, latency_jobs: int) -> tuple[float, list[float]]:
    import httpx

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), str(tmp / "http-data")],
        env={k: v for k, v in os.environ.items() if not k.startswith("VISOR_")},
    )
    base = f"http://127.0.0.1:{port}"
    body = {"plugin": "bench_noop", "tool": "noop"}
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/v1/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the benchmark server did not start")
                time.sleep(0.05)
            for _ in range(200):  # warm up
                client.post("/v1/jobs", json=body)

            per_thread = jobs // 4
            ids: list[str] = []

            def submit_many() -> None:
                with httpx.Client(base_url=base, timeout=30) as own:
                    mine = [own.post("/v1/jobs", json=body).json()["id"] for _ in range(per_thread)]
                ids.extend(mine)

            threads = [threading.Thread(target=submit_many) for _ in range(4)]
            started = time.time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            finished: list[str] = []
            while True:
                busy = sum(
                    len(client.get("/v1/jobs", params={"status": s, "limit": 1}).json()["jobs"])
                    for s in ("PENDING", "RUNNING")
                )
                if not busy:
                    break
                time.sleep(0.05)
            page = client.get("/v1/jobs", params={"limit": 500}).json()
            finished = [j["finished_at"] for j in page["jobs"] if j["id"] in set(ids)]
            from datetime import datetime

            last = max(datetime.fromisoformat(f).timestamp() for f in finished)
            rate = len(ids) / (last - started)

            latencies = []
            for _ in range(latency_jobs):
                t0 = time.perf_counter()
                job_id = client.post("/v1/jobs", json=body).json()["id"]
                with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
                    for _line in stream.iter_lines():
                        pass  # the stream ends after the final status
                latencies.append((time.perf_counter() - t0) * 1000)
            return rate, latencies
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", action="store_true", help="also measure through HTTP")
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--latency-jobs", type=int, default=500)
    parser.add_argument("--submitters", type=int, default=4)
    parser.add_argument("--slots", type=int, default=4)
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="visor-bench-") as tmp:
        base_rate, base_latency = baseline(Path(tmp) / "baseline.sqlite3", opts.jobs)
        service = build_service(Path(tmp) / "visor.sqlite3", opts.slots)
        try:
            visor_latency(service, 200)  # warm up
            rate = visor_throughput(service, opts.jobs, opts.submitters)
            latencies = visor_latency(service, opts.latency_jobs)
        finally:
            service.stop()
        if opts.http:
            http_rate, http_latencies = http_measurements(
                Path(tmp), min(opts.jobs, 2000), opts.latency_jobs
            )

    median = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(
        f"raw SQLite insert+update (baseline): {base_rate:9.0f} rows/s, "
        f"median {base_latency:6.3f} ms"
    )
    print(
        f"Visor jobs, submit→SUCCESS         : {rate:9.0f} jobs/s "
        f"({opts.submitters} submitters, {opts.slots} slots)   target ≥ 500"
    )
    print(
        f"Visor median submit→done latency   : {median:9.3f} ms (p95 {p95:.3f} ms)   target ≤ 5 ms"
    )
    print(f"ratio throughput Visor/baseline    : {rate / base_rate:9.3f}")
    print(f"ratio latency Visor/baseline       : {median / base_latency:9.1f}x")
    if opts.http:
        http_median = statistics.median(http_latencies)
        print(f"HTTP: jobs/s, POST → SUCCESS       : {http_rate:9.0f} jobs/s (4 client threads)")
        print(
            f"HTTP: median POST + events-to-final: {http_median:9.3f} ms "
            f"(p95 {statistics.quantiles(http_latencies, n=20)[-1]:.3f} ms)"
        )
        print(f"ratio HTTP throughput/baseline     : {http_rate / base_rate:9.3f}")


if __name__ == "__main__":
    main()
