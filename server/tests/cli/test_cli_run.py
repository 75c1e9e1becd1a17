"""``visor run``: in-process and against a live server, single calls and batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer
from typer.testing import Result

from app.plugins.runtime.tool_runner import ToolRunner
from app.services.plugin_management_service import PluginManagementService

Invoke = Callable[..., Result]


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_run_in_process_prints_the_result(invoke: Invoke) -> None:
    result = invoke("run", "echo.echo", "--arg", "text=hello")
    assert result.exit_code == 0, result.stderr
    assert '"text": "hello"' in result.stdout
    assert "echo.echo" in result.stdout


def test_run_json_is_one_document_per_file(invoke: Invoke, images: list[Path]) -> None:
    result = invoke("run", "image_info.describe", *images, "--json")
    assert result.exit_code == 0, result.stderr
    lines = json_lines(result.stdout)
    assert [line["file"] for line in lines] == [str(p) for p in images]
    assert [(line["result"]["width"], line["result"]["height"]) for line in lines] == [
        (8, 6),
        (16, 12),
        (32, 24),
    ]
    assert all(line["tool"] == "describe" and line["plugin"] == "image_info" for line in lines)


def test_batch_shows_progress_and_reports_each_failure(
    invoke: Invoke, images: list[Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = invoke("run", "image_info", *images, broken, "-j", "2")

    assert result.exit_code == 1
    assert "4/4" in result.stderr  # the batch progress bar, finished
    assert "4 files: 3 ok, 1 failed" in result.stderr
    assert f"✗ {broken}: ValidationError/invalid_input:" in result.stderr
    assert result.stdout.count('"width"') == 3
    assert "Traceback" not in result.stdout + result.stderr


def test_batch_json_keeps_input_order_with_errors(
    invoke: Invoke, images: list[Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nope")
    result = invoke("run", "image_info.describe", broken, *images, "--json", "-j", "3")

    assert result.exit_code == 1
    lines = json_lines(result.stdout)
    assert [line["file"] for line in lines] == [str(broken)] + [str(p) for p in images]
    assert lines[0]["error"]["details"]["code"] == "invalid_input"
    assert set(lines[0]["error"]) == {"type", "message", "details", "plugin", "timestamp"}
    assert all("result" in line for line in lines[1:])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("echo.echo", "--arg", "text=42"), "ValidationError/invalid_input:"),
        (("echo.nothing",), "PluginError/tool_not_found:"),
        (("nope.tool",), "PluginError/plugin_not_found:"),
    ],
)
def test_failures_print_one_line_from_the_envelope(
    invoke: Invoke, args: tuple[str, ...], expected: str
) -> None:
    result = invoke("run", *args)
    assert result.exit_code == 1
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    bad_target = invoke("run", "echo.")
    assert bad_target.exit_code == 2
    assert "PLUGIN.TOOL" in bad_target.stderr
    bad_arg = invoke("run", "echo.echo", "--arg", "no-equals-sign")
    assert bad_arg.exit_code == 2
    missing_file = invoke("run", "image_info", tmp_path / "missing.png")
    assert missing_file.exit_code == 2


def test_monkeypatched_tool_runner_reaches_in_process_run(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, dict[str, Any], str | None]] = []

    def fake(
        self: ToolRunner, plugin_name: str, payload: dict[str, Any], tool: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        seen.append((plugin_name, payload, tool))
        return {"faked": True}, {}

    monkeypatch.setattr(ToolRunner, "run", fake)
    result = invoke("run", "echo.echo", "--args", '{"text": "x"}', "--json")

    assert result.exit_code == 0, result.stderr
    assert json_lines(result.stdout)[0]["result"] == {"faked": True}
    assert seen == [("echo", {"text": "x"}, "echo")]


def test_unexpected_errors_are_one_line_unless_debug(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: PluginManagementService) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(PluginManagementService, "load", explode)
    quiet = invoke("run", "echo.echo")
    assert quiet.exit_code == 1
    assert quiet.stderr.strip() == (
        "error: InternalError/internal: RuntimeError: disk on fire "
        "(run with --debug for the traceback)"
    )

    loud = invoke("--debug", "run", "echo.echo")
    assert loud.exit_code == 1
    assert isinstance(loud.exception, RuntimeError)


# -- against a live server ------------------------------------------------------------------


def test_server_mode_runs_by_path_and_default_tool(invoke: Invoke, live: LiveServer) -> None:
    by_path = invoke("run", "echo.echo", "-a", "text=remote", "--server", live.url, "--json")
    default = invoke("run", "echo", "-a", "text=default", "--server", live.url, "--json")

    assert by_path.exit_code == 0, by_path.stderr
    assert json_lines(by_path.stdout)[0]["result"]["text"] == "remote"
    assert default.exit_code == 0, default.stderr
    assert json_lines(default.stdout)[0]["result"]["text"] == "default"
    assert json_lines(default.stdout)[0]["tool"] == "echo"


def test_server_mode_batch_uploads_files(
    invoke: Invoke, live: LiveServer, images: list[Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nope")
    result = invoke("run", "image_info.describe", *images, broken, "--server", live.url, "-j", "2")

    assert result.exit_code == 1
    assert "4/4" in result.stderr
    assert result.stdout.count('"width"') == 3
    assert f"✗ {broken}: ValidationError/invalid_input:" in result.stderr


def test_server_mode_prints_the_servers_envelope(invoke: Invoke, live: LiveServer) -> None:
    result = invoke("run", "nope.tool", "--server", live.url)
    assert result.exit_code == 1
    assert "PluginError/plugin_not_found: plugin 'nope' is not installed" in result.stderr


def test_unreachable_server_exits_3(invoke: Invoke) -> None:
    result = invoke("run", "echo.echo", "--server", "http://127.0.0.1:9")
    assert result.exit_code == 3
    assert result.stderr.startswith(
        "error: InternalError/internal: cannot reach http://127.0.0.1:9"
    )
    assert len(result.stderr.strip().splitlines()) == 1
