"""Runtime tests: after the session, no worker process may be left behind. The contract
and hostile-plugin suites run on both executors (``executor_kind``: local, Ray)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from executors import executor_kind, ray_cluster  # noqa: F401  (fixtures)
from isolation_helpers import worker_processes

from app.plugins.runtime.executor import Executor
from app.plugins.runtime.in_process import InProcessExecutor


@pytest.fixture(scope="session", autouse=True)
def no_leaked_workers() -> Iterator[None]:
    yield
    leaked = worker_processes()
    if leaked:
        _, alive = psutil.wait_procs(leaked, timeout=10)
        for process in alive:
            process.kill()
        if alive:
            pytest.fail(f"worker processes outlived the tests: {[p.pid for p in alive]}")


@pytest.fixture
def contract_executor(executor_kind: str, request: pytest.FixtureRequest) -> Iterator[Executor]:  # noqa: F811
    """What ToolRunner's contract suite runs tools on: in-process, or Ray actors."""
    if executor_kind == "ray":
        yield request.getfixturevalue("ray_contract_executor")
        return
    executor = InProcessExecutor()
    yield executor
    executor.shutdown(1)


@pytest.fixture(scope="module")
def ray_contract_executor(ray_cluster: str) -> Iterator[Any]:  # noqa: F811
    """One Ray executor per module: its actors start once and serve every test (each test
    brings its own registry); the circuit never opens, tests count their own failures."""
    from app.plugins.runtime.process import ProcessOptions
    from app.plugins.runtime.ray import RayExecutor, RayOptions

    limits = ProcessOptions(default_workers=1, circuit_failures=1_000_000)
    executor = RayExecutor(RayOptions(limits=limits, num_cpus=0.25))
    yield executor
    executor.shutdown(5)
