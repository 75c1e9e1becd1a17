"""``visor video submit TARGET FILE --fps 2 --wait``: uploads the video with the job,
follows it and prints the summary; ``--json`` prints the whole result. Without --wait the
job id is alone on stdout; the first release's FILE TARGET order still works."""

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
    args = ["video", "submit", "barcode.read", str(scripted_mp4), "--fps", "2", "--wait"]
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


def test_submit_prints_the_id_alone_and_takes_either_order(
    live: LiveServer, scripted_mp4: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for order in (["barcode", str(scripted_mp4)], [str(scripted_mp4), "barcode"]):
        result = runner.invoke(cli, ["video", "submit", *order, "--server", live.url])
        assert result.exit_code == 0, result.stderr
        job_id = result.stdout.strip()
        assert len(job_id) == 32 and "submitted video job" in result.stderr
        waited = runner.invoke(cli, ["jobs", "wait", job_id, "--server", live.url, "--json"])
        assert orjson.loads(waited.stdout)["status"] == "SUCCESS"
    missing = runner.invoke(cli, ["video", "submit", "barcode", "nope.mp4", "-s", live.url])
    assert missing.exit_code == 2 and "no such file: nope.mp4" in missing.stderr
