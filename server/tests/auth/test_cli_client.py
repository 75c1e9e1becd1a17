"""The CLI against a server that requires keys: ``VISOR_API_KEY`` is sent as a Bearer key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import Keys, create_keys
from helpers import plugin_sources
from live_server import LiveServer
from typer.testing import CliRunner

from app.cli.main import cli
from app.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LiveServer, Keys]]:
    settings = Settings(data_dir=tmp_path / "data", force_in_process=True, _env_file=None)  # type: ignore[call-arg]
    server = LiveServer(settings, plugin_sources("echo")).start()
    yield server, create_keys(server.app.state.auth)
    server.stop()


def test_cli_sends_visor_api_key(
    served: tuple[LiveServer, Keys], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, keys = served
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VISOR_API_KEY", raising=False)
    runner = CliRunner()
    refused = runner.invoke(cli, ["jobs", "list", "--server", server.url])
    assert refused.exit_code != 0 and "unauthorized" in refused.stderr
    assert "hint: no key was sent: export VISOR_API_KEY" in refused.stderr

    monkeypatch.setenv("VISOR_API_KEY", keys.run)
    listed = runner.invoke(cli, ["plugins", "--server", server.url])
    assert listed.exit_code == 0, listed.stderr
    assert "echo" in listed.stdout
    submit = ["jobs", "submit", "echo", "--arg", "text=hi", "--wait", "--server", server.url]
    ran = runner.invoke(cli, submit)
    assert ran.exit_code == 0, ran.stderr
    assert keys.run.split("_", 2)[2] not in ran.stdout + ran.stderr
