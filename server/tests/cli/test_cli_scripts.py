"""The CLI in scripts and at 80 columns (issue 29 items 2, 4, 5, 11): ids alone on stdout,
flags shown as flags, help and tables within 80 columns, ``--version``, every command
documented in docs/cli.md, and a video handed to ``visor run`` pointed to the command that
takes it."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from rich.console import Console
from typer.main import get_command
from typer.testing import CliRunner, Result

from app.cli import output
from app.cli.main import cli

ROOT = Path(__file__).resolve().parents[3]
CLI_DOC = ROOT / "docs" / "cli.md"

Invoke = Callable[..., Result]


def only_json(result: Result) -> Any:
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def _commands() -> Iterator[list[str]]:
    """Every command path of ``visor``: [], [serve], ..., [jobs], [jobs, submit], ..."""

    def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    yield from walk(get_command(cli), [])


def test_help_fits_80_columns_and_shows_flags_as_flags() -> None:
    runner = CliRunner()
    for path in _commands():
        result = runner.invoke(cli, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        widest = max(len(line) for line in result.stdout.splitlines())
        assert widest <= 80, (path, widest)
        assert "<bool>" not in result.stdout, path
    submit = runner.invoke(cli, ["jobs", "submit", "--help"]).stdout
    assert re.search(r"^\s+--wait\s+Wait", submit, re.MULTILINE), submit
    statuses = runner.invoke(cli, ["jobs", "list", "--help"]).stdout
    for status in ("PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"):
        assert status in statuses


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"visor {version('visor-server')}"


def test_every_command_in_visor_help_is_in_cli_md() -> None:
    """The docs' table and sections name every command the CLI has, groups and their
    sub-commands alike (``visor jobs submit/list/...`` counts for each)."""
    text = CLI_DOC.read_text()
    named = set(re.findall(r"`visor ([a-z]+(?: [a-z/]+)?)", text))
    documented = set()
    for phrase in named:
        group, _, subs = phrase.partition(" ")
        documented.add(group)
        documented.update(f"{group} {sub}" for sub in subs.split("/") if sub)
    missing = [" ".join(p) for p in _commands() if p and " ".join(p) not in documented]
    assert not missing, f"not in docs/cli.md: {missing}"


@pytest.fixture
def jobs_server(live: LiveServer) -> LiveServer:
    assert "/v1/jobs" in httpx.get(f"{live.url}/openapi.json", timeout=10).json()["paths"]
    return live


def test_submit_prints_the_id_alone_for_the_shell(invoke: Invoke, jobs_server: LiveServer) -> None:
    submitted = invoke("jobs", "submit", "echo.echo", "-a", "text=x", "-s", jobs_server.url)
    assert submitted.exit_code == 0, submitted.stderr
    job_id = submitted.stdout.strip()  # what J=$(visor jobs submit ...) captures
    assert re.fullmatch(r"[0-9a-f]{32}", job_id), submitted.stdout
    assert f"submitted job {job_id}" in submitted.stderr and "visor jobs wait" in submitted.stderr
    quiet = invoke("jobs", "submit", "echo.echo", "-q", "-s", jobs_server.url)
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert re.fullmatch(r"[0-9a-f]{32}\n", quiet.stdout)
    waited = invoke("jobs", "wait", job_id, "--json", "-s", jobs_server.url)
    assert only_json(waited)["result"]["text"] == "x"
    lowered = invoke("jobs", "list", "--status", "success", "--json", "-s", jobs_server.url)
    assert lowered.exit_code == 0, lowered.stderr
    assert job_id in {job["id"] for job in only_json(lowered)["jobs"]}
    wrong = invoke("jobs", "list", "--status", "DONE", "-s", jobs_server.url)
    assert wrong.exit_code == 2


def test_key_and_model_tables_fit_80_columns(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "out", Console(width=80, highlight=False, soft_wrap=True))
    for name in ("ci", "a-rather-long-key-name-for-the-nightly-batch", "expiring"):
        made = invoke("keys", "create", name, "--scope", "admin", "--expires-days", "30")
        assert made.exit_code == 0, made.stderr
    assert invoke("keys", "revoke", "ci").exit_code == 0
    table = invoke("keys", "list")
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, table.stdout
    assert "revoked 20" in table.stdout and "active to 20" in table.stdout

    models = [
        {
            "name": "a-model-with-a-long-descriptive-name",
            "task": "detection",
            "default_version": 3,
            "versions": [
                {"version": v, "default": v == 3, "labels": ["cat"] * 80} for v in (1, 2, 3)
            ],
        }
    ]
    console = Console(width=80, record=True, color_system=None)
    console.print(output.models_table(models))
    rendered = console.export_text()
    assert max(len(line) for line in rendered.splitlines()) <= 80 and "80" in rendered


def test_run_on_a_video_points_to_video_submit(invoke: Invoke) -> None:
    result = invoke("run", "image_info", ROOT / "samples" / "codes.mp4")
    assert result.exit_code == 1
    assert "is a video (video/mp4)" in result.stderr
    assert f"visor video submit image_info {ROOT / 'samples' / 'codes.mp4'}" in result.stderr


def test_serve_on_a_busy_port_fails_before_starting_plugins(invoke: Invoke) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = invoke("serve", "--port", str(port))
    assert result.exit_code == 2, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port or VISOR_PORT" in result.stderr
