"""``visor plugins``, ``visor doctor`` and ``visor jobs`` through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from rich.console import Console
from typer.testing import Result

from app.cli import output
from app.plugins.runtime.routing import RoutingExecutor

Invoke = Callable[..., Result]


def only_json(result: Result) -> Any:
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


# -- plugins --------------------------------------------------------------------------------


def test_plugins_table_in_process(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    monkeypatch.setattr(RoutingExecutor, "start_plugin", lambda self, r: started.append(r.name))
    result = invoke("plugins")
    assert result.exit_code == 0, result.stderr
    for text in ("echo", "image_info", "LOADED"):  # loaded and validated, not started
        assert text in result.stdout
    assert started == []  # a listing starts no worker
    listed = {p["name"]: p for p in only_json(invoke("plugins", "--json"))["plugins"]}
    assert set(listed["echo"]["tools"]) == {"echo", "noop", "sleep", "aecho"}


def test_plugins_from_a_server_show_live_metrics(invoke: Invoke, live: LiveServer) -> None:
    assert invoke("run", "echo.noop", "--server", live.url).exit_code == 0
    result = invoke("plugins", "--server", live.url, "--json")

    assert result.exit_code == 0, result.stderr
    plugins = {p["name"]: p for p in only_json(result)["plugins"]}
    assert plugins["echo"]["success_count"] >= 1
    assert plugins["echo"]["state"] == "RUNNING"
    assert "noop" in plugins["echo"]["tools"]


# -- doctor ---------------------------------------------------------------------------------


def test_doctor_passes_on_a_healthy_install(invoke: Invoke) -> None:
    result = invoke("doctor", "--json")
    assert result.exit_code == 0, result.stdout
    checks = {c["name"]: c for c in only_json(result)["checks"]}
    assert checks["data directory"]["status"] == "ok"
    assert checks["plugin echo"]["status"] == "ok"
    assert checks["plugin image_info"]["status"] == "ok"
    assert all(c["status"] in ("ok", "warn") for c in checks.values())
    assert any(name.startswith("extra ") for name in checks)


def test_doctor_fails_on_an_unwritable_data_dir(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    monkeypatch.setenv("VISOR_DATA_DIR", str(blocker / "data"))
    result = invoke("doctor")
    assert result.exit_code == 1
    assert "data directory" in result.stdout and "fail" in result.stdout


def test_doctor_fails_when_no_plugin_loads(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISOR_PLUGINS_ALLOWLIST", "no_such_plugin")
    result = invoke("doctor", "--json")
    assert result.exit_code == 1
    checks = {c["name"]: c for c in only_json(result)["checks"]}
    assert checks["plugins"]["status"] == "fail"


# -- jobs -----------------------------------------------------------------------------------


@pytest.fixture
def jobs_server(live: LiveServer) -> LiveServer:
    paths = httpx.get(f"{live.url}/openapi.json", timeout=10).json()["paths"]
    if "/v1/jobs" not in paths:
        pytest.skip("the jobs API (/v1/jobs) is not on this server yet")
    return live


def test_jobs_submit_wait_prints_the_result(invoke: Invoke, jobs_server: LiveServer) -> None:
    result = invoke(
        "jobs", "submit", "echo.echo", "-a", "text=queued", "--wait", "--timeout", "60",
        "--server", jobs_server.url, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    answer = only_json(result)
    assert answer["status"] == "SUCCESS"
    assert answer["result"]["text"] == "queued"


def test_jobs_submit_with_a_file_then_get_list_and_wait(
    invoke: Invoke, jobs_server: LiveServer, images: list[Path]
) -> None:
    submitted = invoke(
        "jobs", "submit", "image_info.describe", images[2], "--server", jobs_server.url, "--json"
    )
    assert submitted.exit_code == 0, submitted.stderr
    job_id = only_json(submitted)["id"]

    waited = invoke("jobs", "wait", job_id, "--timeout", "60", "--server", jobs_server.url)
    assert waited.exit_code == 0, waited.stderr
    assert '"width": 32' in waited.stdout

    got = invoke("jobs", "get", job_id, "--server", jobs_server.url, "--json")
    assert only_json(got)["status"] == "SUCCESS"
    shown = invoke("jobs", "get", job_id, "--server", jobs_server.url)
    assert job_id in shown.stdout and "SUCCESS" in shown.stdout

    listed = invoke("jobs", "list", "--plugin", "image_info", "--server", jobs_server.url, "--json")
    assert job_id in {job["id"] for job in only_json(listed)["jobs"]}
    table = invoke("jobs", "list", "--status", "SUCCESS", "--server", jobs_server.url)
    assert table.exit_code == 0 and "Jobs" in table.stdout


def test_jobs_cancel_and_a_failed_wait(invoke: Invoke, jobs_server: LiveServer) -> None:
    slow = invoke(
        "jobs", "submit", "echo.sleep", "--args", '{"seconds": 30, "steps": 300}',
        "--server", jobs_server.url, "--json",
    )  # fmt: skip
    job_id = only_json(slow)["id"]
    cancelled = invoke("jobs", "cancel", job_id, "--server", jobs_server.url, "--json")
    assert cancelled.exit_code == 0, cancelled.stderr
    assert only_json(cancelled)["status"] == "CANCELLED"

    waited = invoke("jobs", "wait", job_id, "--timeout", "30", "--server", jobs_server.url)
    assert waited.exit_code == 1
    assert "cancelled" in waited.stderr.lower()
    assert len(waited.stderr.strip().splitlines()) == 1


def test_jobs_unknown_id_prints_the_envelope(invoke: Invoke, jobs_server: LiveServer) -> None:
    result = invoke("jobs", "get", "no-such-job", "--server", jobs_server.url)
    assert result.exit_code == 1
    assert "ValidationError/job_not_found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_doctor_warns_for_an_optional_plugin_without_its_extra(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.plugins.builtin.rapid_ocr import bundle

    monkeypatch.setattr(bundle, "REQUIRED_MODULES", ("rapidocr", "visor_no_such_module"))
    monkeypatch.setenv("VISOR_PLUGINS_ALLOWLIST", "ocr-rapid,image_info")
    result = invoke("doctor", "--json")
    assert result.exit_code == 0, result.stdout
    checks = {c["name"]: c for c in only_json(result)["checks"]}
    assert checks["plugin ocr-rapid"]["status"] == "warn"
    assert 'pip install -e "./server[ocr-rapid]"' in checks["plugin ocr-rapid"]["detail"]
    assert checks["plugin image_info"]["status"] == "ok"
    assert "Traceback" not in result.stdout + result.stderr


def test_jobs_list_fits_80_columns_and_get_shows_the_result(
    invoke: Invoke, jobs_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISOR_PORT", str(jobs_server.port))  # the default server
    submitted = invoke("jobs", "submit", "echo.echo", "-a", "text=shown", "--wait", "--json")
    assert submitted.exit_code == 0, submitted.stderr
    job_id = only_json(submitted)["id"]

    monkeypatch.setattr(output, "out", Console(width=80, highlight=False, soft_wrap=True))
    table = invoke("jobs", "list", "--plugin", "echo")
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    rows = [i for i, line in enumerate(lines) if job_id in line]  # the id whole, once
    assert len(rows) == 1 and "SUCCESS" in lines[rows[0]], table.stdout
    assert "echo.echo" in lines[rows[0] + 1]  # the tool under it
    assert max(len(line) for line in lines) <= 80

    shown = invoke("jobs", "get", job_id)
    assert shown.exit_code == 0, shown.stderr
    assert '"text": "shown"' in shown.stdout
