"""One fixture parameter for the executor the suites run on: local workers or Ray actors.

Suites that build apps or executors request ``executor_kind`` (``"local"`` or ``"ray"``)
and turn it into settings with :func:`executor_settings`; conftests import the fixtures
from here. The Ray side uses one real local Ray, started once per test session (small,
no dashboard, actor output kept out of the test log) and shared by every Ray test. Where
Ray is not installed, the Ray parameter is skipped with the reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings

EXECUTORS = ["local", pytest.param("ray", marks=pytest.mark.ray)]
#: Ray CPUs of the session's Ray (logical: how many actors may exist at once, at 1 each).
RAY_TEST_CPUS = 8
#: crashy's health check fails while this file exists; the session's Ray workers inherit
#: the variable, so a test can make actors sick by touching the file.
RAY_SICK_FILE = Path(tempfile.gettempdir()) / f"visor-ray-sick-{os.getpid()}"


def ray_available() -> str | None:
    """None if Ray can be used, else why not."""
    try:
        import ray
    except ImportError:
        ray = None
    if getattr(ray, "init", None) is None:  # absent, or only this test directory's name
        return "ray is not installed (pip install 'visor-server[ray]')"
    return None


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A real local Ray for the whole session; yields its GCS address (to join it)."""
    reason = ray_available()
    if reason:
        pytest.skip(reason)
    import ray

    from app.plugins.runtime.ray import cluster

    # The test cluster lives on loopback for one session; Ray's token file under ~/.ray is
    # shared by everything on this machine, so its token auth is off for the session (and
    # for the servers and nodes the tests start, which inherit the environment).
    os.environ["RAY_AUTH_MODE"] = "disabled"
    os.environ["VISOR_TEST_CRASHY_SICK_FILE"] = str(RAY_SICK_FILE)
    try:
        cluster.connect("", num_cpus=RAY_TEST_CPUS, object_store_memory=100 * 1024 * 1024)
    finally:
        del os.environ["VISOR_TEST_CRASHY_SICK_FILE"]
    address: str = ray.get_runtime_context().gcs_address
    yield address
    cluster.disconnect()
    RAY_SICK_FILE.unlink(missing_ok=True)


@pytest.fixture(scope="session", params=EXECUTORS)
def executor_kind(request: pytest.FixtureRequest) -> str:
    """``"local"`` (worker processes) or ``"ray"`` (actors on the session's Ray)."""
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    kind: str = request.param
    return kind


def executor_settings(
    kind: str, base: Settings | None = None, *, on_ray: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Settings overrides for ``kind``; ``on_ray`` names test plugins the suite otherwise
    runs in-process that must run on Ray actors for the Ray parameter."""
    if kind != "ray":
        return {}
    if not on_ray:
        return {"executor": "ray"}
    isolation = dict(base.plugin_isolation) if base is not None else {}
    for name in on_ray:
        isolation.pop(name, None)
    return {"executor": "ray", "plugin_isolation": isolation}
