"""CLI fixtures: an isolated environment for in-process runs and a live server for --server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import builtin_sources, plugin_sources, png_bytes
from live_server import LiveServer
from typer.testing import CliRunner, Result

from app.cli.main import cli
from app.settings import Settings

Invoke = Callable[..., Result]

#: In-process runs load only these entry points (fast, deterministic).
ALLOWLIST = "visor_test_echo,image_info"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """VISOR_* settings for in-process commands: tmp data dir, test plugins, in-process."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("VISOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VISOR_PLUGINS_ALLOWLIST", ALLOWLIST)
    monkeypatch.setenv("VISOR_FORCE_IN_PROCESS", "true")
    monkeypatch.delenv("VISOR_SERVER", raising=False)
    monkeypatch.delenv("VISOR_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    return data_dir


@pytest.fixture
def invoke(cli_env: Path) -> Invoke:
    """Run ``visor ARGS...`` through Typer's runner (stdout and stderr kept apart)."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, [str(a) for a in args])

    return run


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("cli") / "data", force_in_process=True, _env_file=None
    )
    server = LiveServer(settings, [*plugin_sources("echo"), *builtin_sources("image_info")])
    yield server.start()
    server.stop()


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    """Three small PNGs of different sizes."""
    paths = []
    for i, size in enumerate([(8, 6), (16, 12), (32, 24)]):
        path = tmp_path / f"image{i}.png"
        path.write_bytes(png_bytes(size))
        paths.append(path)
    return paths
