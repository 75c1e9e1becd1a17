"""``visor run``: in-process and against a live server, single calls and batches."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer, free_port
from rich.console import Console
from typer.testing import Result

from app.cli import output
from app.plugins.loader.plugin_registry import PluginRecord
from app.plugins.runtime.routing import RoutingExecutor
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
    assert "4/4" not in result.stderr  # stderr is not a terminal: no progress frames
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
    def explode(self: PluginManagementService, **options: Any) -> None:
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
    assert "4 files: 3 ok, 1 failed" in result.stderr
    assert result.stdout.count('"width"') == 3
    assert f"✗ {broken}: ValidationError/invalid_input:" in result.stderr


def test_server_mode_prints_the_servers_envelope(invoke: Invoke, live: LiveServer) -> None:
    result = invoke("run", "nope.tool", "--server", live.url)
    assert result.exit_code == 1
    assert "PluginError/plugin_not_found: plugin 'nope' is not installed" in result.stderr


def test_unreachable_server_is_a_connection_problem_with_a_hint(invoke: Invoke) -> None:
    result = invoke("run", "echo.echo", "--server", f"127.0.0.1:{free_port()}")
    assert result.exit_code == 3
    message, hint = result.stderr.strip().splitlines()
    assert message.startswith("error: cannot reach the Visor server at http://127.0.0.1:")
    assert "Connection refused" in message
    assert "InternalError" not in result.stderr
    assert hint == "hint: is the server running? Start one with `visor serve`, or pass --server URL"


def test_server_accepts_host_and_port_without_scheme(invoke: Invoke, live: LiveServer) -> None:
    result = invoke("run", "echo.echo", "-a", "text=hi", "-s", f"localhost:{live.port}", "--json")
    assert result.exit_code == 0, result.stderr
    assert json_lines(result.stdout)[0]["result"]["text"] == "hi"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_server_that_is_not_visor_is_reported_as_such(invoke: Invoke) -> None:
    server = HTTPServer(("127.0.0.1", 0), _QuietHandler)  # a plain web server: HTML errors
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = invoke("run", "echo.echo", "-s", f"127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 3
    message, hint = result.stderr.strip().splitlines()
    assert "answered HTTP 501 without a Visor error envelope" in message
    assert hint == "hint: is --server pointing at a Visor server?"


def test_batch_progress_bar_is_drawn_on_a_terminal(
    invoke: Invoke, images: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100, highlight=False)
    monkeypatch.setattr(output, "err", terminal)
    result = invoke("run", "image_info", *images)
    assert result.exit_code == 0, result.stderr
    drawn = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "3/3" in drawn and "running" in drawn
    assert "3 files: 3 ok, 0 failed" in drawn


def test_run_starts_only_the_chosen_plugin(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    started = _record_starts(monkeypatch)
    result = invoke("run", "echo.echo", "-a", "text=x")
    assert result.exit_code == 0, result.stderr
    assert started == ["echo"]


def _record_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names the real executor is asked to start, in order."""
    started: list[str] = []
    real = RoutingExecutor.start_plugin

    def start_plugin(self: RoutingExecutor, record: PluginRecord) -> None:
        started.append(record.name)
        real(self, record)

    monkeypatch.setattr(RoutingExecutor, "start_plugin", start_plugin)
    return started
