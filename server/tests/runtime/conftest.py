"""Runtime tests: after the session, no worker process may be left behind."""

from __future__ import annotations

from collections.abc import Iterator

import psutil
import pytest
from isolation_helpers import worker_processes


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
