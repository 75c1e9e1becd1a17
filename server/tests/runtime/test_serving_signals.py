"""Ctrl-C on a served app ends quietly: no KeyboardInterrupt traceback on the console.

uvicorn re-raises the SIGINT it handled once its shutdown is over; before the fix that
surfaced as an asyncio ``KeyboardInterrupt`` traceback on the console of every server
stopped with Ctrl-C (bench/peers.py printed one per run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from isolation_helpers import eventually
from live_server import free_port

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parents[1]

SERVER = """
import sys
from app.main import create_app
from app.plugins.loader.plugin_registry import PluginRegistry
from app.serving import serve
from app.settings import Settings

if __name__ == "__main__":
    settings = Settings(
        data_dir=sys.argv[1], plugins_allowlist=["visor_test_echo"],
        force_in_process=True, _env_file=None,
    )
    app = create_app(settings, registry=PluginRegistry())
    serve(app, host="127.0.0.1", port=int(sys.argv[2]), shutdown_timeout_s=1.0,
          log_level="warning")
"""


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_sigint_stops_the_server_without_a_traceback(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]),
    }
    server = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "data"), str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        eventually(lambda: _ready(url) or server.poll() is not None, "the server to start", 60)
        assert server.poll() is None, server.communicate()[1].decode(errors="replace")
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    text = (out + err).decode(errors="replace")
    assert "Traceback" not in text, text
    assert "KeyboardInterrupt" not in text, text
    assert server.returncode == 0
