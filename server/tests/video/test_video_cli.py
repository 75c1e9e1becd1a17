"""``visor video submit FILE TARGET --fps 2 --wait``: uploads the video with the job,
follows it and prints the summary; ``--json`` prints the whole result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from helpers import builtin_sources
from live_server import LiveServer
from typer.testing import CliRunner

from app.cli.main import cli
from app.settings import Settings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("video-cli") / "data", _env_file=None
    )
    server = LiveServer(settings, builtin_sources("barcode"))
    yield server.start()
    server.stop()


def test_submit_and_wait(
    live: LiveServer, scripted_mp4: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VISOR_SERVER", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["video", "submit", str(scripted_mp4), "barcode.read", "--fps", "2", "--wait"]
    result = runner.invoke(cli, [*args, "--server", live.url, "--json"])
    assert result.exit_code == 0, result.stderr
    answer = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert answer["plugin"] == "video" and answer["tool"] == "barcode.read"
    texts = {v["text"] for v in answer["result"]["summary"]["values"]}
    assert texts == {"VISOR-A", "VISOR-B"}

    shown = runner.invoke(cli, [*args, "--end", "1", "--server", live.url])
    assert shown.exit_code == 0, shown.stderr
    assert "VISOR-A" in shown.stdout
    assert '"index"' not in shown.stdout, "without --json only the summary is printed"
