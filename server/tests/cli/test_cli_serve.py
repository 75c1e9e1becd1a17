"""``visor serve`` as a real process, driven by the real ``visor`` executable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import free_port

pytestmark = pytest.mark.slow

_READY_TIMEOUT_S = 60.0


def visor_command() -> list[str]:
    """The installed console script, or the same entry point through this interpreter."""
    exe = shutil.which("visor")
    return [exe] if exe else [sys.executable, "-c", "from app.cli.main import main; main()"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {
        **os.environ,
        "VISOR_PLUGINS_ALLOWLIST": "visor_test_echo",
        "VISOR_FORCE_IN_PROCESS": "true",
        "VISOR_LOG_LEVEL": "WARNING",
    }
    env.pop("VISOR_SERVER", None)
    process = subprocess.Popen(
        [*visor_command(), "serve", "--port", str(port), "--workers", "2",
         "--data-dir", str(tmp_path / "data")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url, env
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"visor serve exited {process.returncode}: {stderr}")
        try:
            if httpx.get(f"{url}/v1/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("visor serve did not become ready")


def test_serve_with_workers_answers_the_real_cli(
    served: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = served

    def visor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*visor_command(), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip

    ran = visor("run", "echo.echo", "--arg", "text=served", "--server", url, "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["result"]["text"] == "served"

    listed = visor("plugins", "--server", url, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [p["name"] for p in json.loads(listed.stdout)["plugins"]] == ["echo"]

    failed = visor("run", "echo.echo", "--arg", "text=42", "--server", url)
    assert failed.returncode == 1
    assert "ValidationError/invalid_input:" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
