"""Scale-out: Ray actors vs local workers, and jobs/s with two API servers vs one.

Run: ``python bench/ray_scaleout.py`` (needs the ``ray`` extra, the test plugins —
``pip install -e server/tests/plugins`` — and, for the last part, PostgreSQL on
127.0.0.1:5432; ``--no-servers`` skips it). The file is not called ``ray.py``: a script of
that name would shadow the ``ray`` package it imports. In one run, against baselines taken
in the same run:

* no-op latency: median µs per ``ToolRunner.run`` of ``steady.noop`` on a Ray actor vs in
  a local worker process (target: ≤ 2 ms added; Ray Serve publishes 1 to 2 ms);
* CPU-bound throughput on Ray: calls/s of ``steady.burn`` with 2 actors vs 1, driven by 4
  client threads, alternating rounds (target ≥ 1.7x on 2 cores);
* jobs/s end to end: a burst of no-op jobs submitted over HTTP by 4 client threads to one
  server vs round-robin to two servers sharing one PostgreSQL database (a fresh database
  per round), measured from the first ``created_at`` to the last ``finished_at``.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import threading
import time
import uuid

import httpx

from app.plugins.loader.plugin_loader import discover, load_plugins
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.executor import Executor
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.tool_runner import ToolRunner
from benchlib import VisorServer, calls_per_second, jobs_per_second, per_call_us

PLUGIN = "steady"  # visor_test_plugins: noop and burn tools, importable on any actor
PG_ADMIN = os.environ.get("VISOR_BENCH_POSTGRES", "host=127.0.0.1 port=5432 user=postgres")


def _runner(executor: Executor) -> ToolRunner:
    registry = PluginRegistry()
    sources = [s for s in discover("visor.test_plugins") if s.key == PLUGIN]
    registry.replace_all(load_plugins(sources))
    record = registry.get(PLUGIN)
    assert record is not None, "pip install -e server/tests/plugins"
    executor.start_plugin(record)
    registry.transition(PLUGIN, PluginState.INITIALIZED)
    return ToolRunner(registry=registry, executor=executor, default_timeout_s=120)


def _ray_executor(workers: int) -> Executor:
    from app.plugins.runtime.ray import RayExecutor, RayOptions

    limits = ProcessOptions(workers={PLUGIN: workers}, min_workers=workers)
    return RayExecutor(RayOptions(limits=limits, num_cpus=1))


def bench_noop(calls: int, batches: int) -> None:
    local = ProcessExecutor(ProcessOptions(workers={PLUGIN: 1}))
    ray_ex = _ray_executor(1)
    try:
        runners = {"local": _runner(local), "ray": _runner(ray_ex)}
        for runner in runners.values():  # warm up both paths
            for _ in range(300):
                runner.run(PLUGIN, {}, "noop")
        us = {name: [] for name in runners}  # type: dict[str, list[float]]
        for _ in range(3):  # interleaved, so outside load hits both alike
            for name, runner in runners.items():
                us[name].append(
                    per_call_us(lambda r=runner: r.run(PLUGIN, {}, "noop"), calls, batches)
                )
    finally:
        local.shutdown(2)
        ray_ex.shutdown(2)
    base, on_ray = statistics.median(us["local"]), statistics.median(us["ray"])
    print("no-op call through ToolRunner, median of batches")
    print(f"  local worker process (baseline) {base:9.1f} µs/call")
    print(f"  Ray actor                       {on_ray:9.1f} µs/call")
    print(f"  added by Ray                    {(on_ray - base) / 1000:9.3f} ms/call (target <= 2)")
    print(f"  ratio Ray/local                 {on_ray / base:9.1f}x")


def _throughput(runner: ToolRunner, n: int, clients: int, calls: int) -> float:
    """Calls per second with ``clients`` threads each making ``calls`` burn calls."""

    def burn() -> None:
        _, error = runner.run(PLUGIN, {"n": n}, "burn")
        assert error == {}, error

    return calls_per_second(burn, clients, calls)


def bench_cpu(n: int, clients: int, calls: int, rounds: int) -> None:
    executors = {w: _ray_executor(w) for w in (1, 2)}
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        runners = {w: _runner(executor) for w, executor in executors.items()}
        for runner in runners.values():
            _throughput(runner, n, clients, 2)  # warm-up: every actor is up
        for _ in range(rounds):
            for workers, runner in runners.items():
                rates[workers].append(_throughput(runner, n, clients, calls))
    finally:
        for executor in executors.values():
            executor.shutdown(2)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"CPU-bound tool on Ray (burn n={n}), {clients} client threads, {rounds} rounds")
    print(f"  1 actor (baseline)   {one:8.1f} calls/s median, {max(rates[1]):7.1f} best")
    print(f"  2 actors             {two:8.1f} calls/s median, {max(rates[2]):7.1f} best")
    best = max(rates[2]) / max(rates[1])
    print(f"  speed-up 2 vs 1      {two / one:8.2f}x median, {best:6.2f}x best")
    print(f"  (target >= 1.7x on {os.cpu_count()} cores)")


# -- jobs/s with one and two API servers on one PostgreSQL ------------------------------------


def _database() -> tuple[str, str]:
    import psycopg

    name = f"visor_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN + " dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        info = admin.info
        return name, f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN + " dbname=postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds used so far by these processes and their children."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def _postgres_cpu_s() -> float:
    import psutil

    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] and proc.info["name"].startswith("postgres"):
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
    return total


def _burst(urls: list[str], jobs: int) -> float:
    body = {"plugin": "echo", "tool": "noop"}
    ids: list[str] = []
    lock = threading.Lock()

    def submit(index: int, count: int) -> None:
        clients = [httpx.Client(base_url=url, timeout=60) for url in urls]
        for i in range(count):
            response = clients[(index + i) % len(clients)].post("/v1/jobs", json=body)
            response.raise_for_status()
            with lock:
                ids.append(response.json()["id"])
        for client in clients:
            client.close()

    threads = [threading.Thread(target=submit, args=(k, jobs // 4)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return jobs_per_second(urls[0], ids)


def bench_servers(jobs: int, rounds: int) -> None:
    import tempfile

    rates: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
    for _ in range(rounds):
        for count in (1, 2):
            name, url = _database()
            servers = [
                VisorServer(
                    VISOR_DATA_DIR=tempfile.mkdtemp(prefix="visor-bench-"),
                    VISOR_DATABASE_URL=url,
                    VISOR_PLUGINS_ALLOWLIST="visor_test_echo",
                )
                for _ in range(count)
            ]
            try:
                for server in servers:
                    server.wait_ready()
                _burst([s.url for s in servers], 20)  # warm-up
                pids = [s.proc.pid for s in servers]
                server0, pg0, wall0 = _cpu_s(pids), _postgres_cpu_s(), time.perf_counter()
                rates[count].append(_burst([s.url for s in servers], jobs))
                wall = time.perf_counter() - wall0
                cpu[count].append(
                    (_cpu_s(pids) - server0, _postgres_cpu_s() - pg0, wall * (os.cpu_count() or 1))
                )
            finally:
                for server in servers:
                    server.stop()
                _drop(name)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"jobs/s end to end, PostgreSQL, {jobs} no-op jobs, 4 client threads, {rounds} rounds")
    print(f"  1 API server (baseline)  {one:8.1f} jobs/s median {rates[1]}")
    print(f"  2 API servers            {two:8.1f} jobs/s median {rates[2]}")
    print(f"  ratio 2 vs 1             {two / one:8.2f}x   ({os.cpu_count()} cores here)")
    for count in (1, 2):
        server_s = sum(c[0] for c in cpu[count])
        pg_s = sum(c[1] for c in cpu[count])
        capacity = sum(c[2] for c in cpu[count])
        done = jobs * len(cpu[count])
        print(
            f"  {count} server(s): CPU per job {server_s / done * 1000:5.2f} ms Visor"
            f" + {pg_s / done * 1000:5.2f} ms PostgreSQL;"
            f" they used {(server_s + pg_s) / capacity:4.0%} of the machine's cores"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--burn-n", type=int, default=300_000)
    parser.add_argument("--burn-calls", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--no-servers", action="store_true", help="skip the PostgreSQL part")
    parser.add_argument("--only-servers", action="store_true", help="only the PostgreSQL part")
    opts = parser.parse_args()
    logging.getLogger("visor").setLevel(logging.WARNING)

    if not opts.only_servers:
        from app.plugins.runtime.ray import cluster

        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private, loopback-only Ray
        cluster.connect("", num_cpus=4, object_store_memory=100 * 1024 * 1024)
        try:
            bench_noop(opts.calls, opts.batches)
            bench_cpu(opts.burn_n, clients=4, calls=opts.burn_calls, rounds=opts.rounds)
        finally:
            cluster.disconnect()
    if not opts.no_servers:
        bench_servers(opts.jobs, rounds=max(1, opts.rounds - 1))


if __name__ == "__main__":
    main()
