"""``visor pipelines`` and ``visor run pipeline.NAME``: in-process and against a live server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from typer.testing import Result

from app.plugins.runtime.tool_runner import ToolRunner

Invoke = Callable[..., Result]

SIZES = {
    "name": "sizes",
    "description": "Describe the image, then again with colours.",
    "steps": [
        {"id": "plain", "tool": "image_info.describe"},
        {"id": "colours", "tool": "image_info.describe", "args": {"dominant_colors": 2}},
    ],
}
#: Fails in its second step: the image's width is no valid colour count.
FAILING_YAML = """\
name: failing
steps:
  - id: size
    tool: image_info.describe
  - id: colours
    tool: image_info.describe
    args_from: {dominant_colors: size.width}
"""


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture
def specs(tmp_path: Path) -> tuple[Path, Path]:
    sizes = tmp_path / "sizes.json"
    sizes.write_text(json.dumps(SIZES))
    failing = tmp_path / "failing.yaml"
    failing.write_text(FAILING_YAML)
    return sizes, failing


@pytest.fixture(params=["local", "server"])
def where(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The extra arguments that pick the door: in-process, or ``--server`` (live)."""
    if request.param == "local":
        return ()
    live: LiveServer = request.getfixturevalue("live")
    for name in ("sizes", "failing"):
        httpx.delete(f"{live.url}/v1/pipelines/{name}", timeout=30)  # each test starts clean
    return ("--server", live.url)


def test_save_list_show_delete(
    invoke: Invoke, specs: tuple[Path, Path], where: tuple[str, ...]
) -> None:
    sizes, failing = specs
    saved = invoke("pipelines", "save", sizes, *where)
    assert saved.exit_code == 0, saved.stderr
    assert "saved pipeline sizes (2 steps)" in saved.stderr and saved.stdout.strip() == "sizes"
    saved_yaml = invoke("pipelines", "save", failing, *where, "--json")
    assert saved_yaml.exit_code == 0, saved_yaml.stderr
    assert json.loads(saved_yaml.stdout)["name"] == "failing"

    table = invoke("pipelines", "list", *where)
    assert table.exit_code == 0, table.stderr
    assert "sizes" in table.stdout and "plain: image_info.describe" in table.stdout
    listed = json_lines(invoke("pipelines", "list", *where, "--json").stdout)[0]
    assert [p["name"] for p in listed["pipelines"]] == ["failing", "sizes"]

    shown = invoke("pipelines", "show", "sizes", *where, "--json")
    assert shown.exit_code == 0, shown.stderr
    steps = json.loads(shown.stdout)["spec"]["steps"]
    assert [(s["id"], s["tool"], s["args"]) for s in steps] == [
        (s["id"], s["tool"], s.get("args", {})) for s in SIZES["steps"]
    ]

    deleted = invoke("pipelines", "delete", "sizes", *where)
    assert deleted.exit_code == 0 and "deleted pipeline sizes" in deleted.stderr
    gone = invoke("pipelines", "show", "sizes", *where)
    assert gone.exit_code == 1
    assert "not_found: pipeline 'sizes' does not exist" in gone.stderr


def test_run_prints_one_result_per_file(
    invoke: Invoke, specs: tuple[Path, Path], images: list[Path], where: tuple[str, ...]
) -> None:
    assert invoke("pipelines", "save", specs[0], *where).exit_code == 0
    ran = invoke("pipelines", "run", "sizes", *images, *where, "--json")
    assert ran.exit_code == 0, ran.stderr
    lines = json_lines(ran.stdout)
    assert [line["file"] for line in lines] == [str(p) for p in images]
    assert all(line["plugin"] == "pipeline" and line["tool"] == "sizes" for line in lines)
    assert [line["result"]["steps"]["plain"]["width"] for line in lines] == [8, 16, 32]
    assert all(len(line["result"]["steps"]["colours"]["dominant_colors"]) <= 2 for line in lines)
    assert all(line["elapsed_ms"] == line["result"]["elapsed_ms"] for line in lines)

    pretty = invoke("run", "pipeline.sizes", images[0], *where)  # the same, through visor run
    assert pretty.exit_code == 0, pretty.stderr
    assert f"✓ {images[0]}" in pretty.stdout and '"colours"' in pretty.stdout


def test_a_failing_step_fails_the_file_with_its_envelope(
    invoke: Invoke, specs: tuple[Path, Path], images: list[Path], where: tuple[str, ...]
) -> None:
    assert invoke("pipelines", "save", specs[1], *where).exit_code == 0
    wide = images[2]  # 32 px: no valid colour count (at most 16)
    ran = invoke("run", "pipeline.failing", wide, wide, *where, "--json")
    assert ran.exit_code == 1
    errors = [line["error"] for line in json_lines(ran.stdout)]
    assert [e["details"]["step"] for e in errors] == ["colours", "colours"]
    assert {e["details"]["code"] for e in errors} == {"invalid_input"}

    plain = invoke("pipelines", "run", "failing", wide, *where)
    assert plain.exit_code == 1
    assert "ValidationError/invalid_input: step 'colours'" in plain.stderr


def test_unknown_pipeline_and_usage_errors(
    invoke: Invoke, images: list[Path], where: tuple[str, ...]
) -> None:
    missing = invoke("run", "pipeline.nope", images[0], *where)
    assert missing.exit_code == 1
    assert "not_found: pipeline 'nope' does not exist" in missing.stderr
    with_args = invoke("run", "pipeline.nope", images[0], "--arg", "x=1", *where)
    assert with_args.exit_code == 2
    assert "a pipeline takes no --arg" in with_args.stderr


def test_an_invalid_spec_is_refused(invoke: Invoke, tmp_path: Path, where: tuple[str, ...]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"name": "broken", "steps": [{"id": "a", "tool": "nope.x"}]}))
    refused = invoke("pipelines", "save", broken, *where)
    assert refused.exit_code == 1
    assert "invalid_input: step 'a': plugin 'nope' is not installed" in refused.stderr


def test_an_unreachable_server_is_exit_code_3(invoke: Invoke) -> None:
    result = invoke("pipelines", "list", "--server", "127.0.0.1:1")
    assert result.exit_code == 3
    assert "cannot reach the Visor server" in result.stderr


def test_in_process_steps_are_governed_tool_calls(
    invoke: Invoke, specs: tuple[Path, Path], images: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = ToolRunner.run

    def spy(self: ToolRunner, plugin: str, payload: dict[str, Any], tool: str | None = None) -> Any:
        seen.append(f"{plugin}.{tool}")
        return real(self, plugin, payload, tool)

    assert invoke("pipelines", "save", specs[0]).exit_code == 0
    monkeypatch.setattr(ToolRunner, "run", spy)
    assert invoke("run", "pipeline.sizes", images[0]).exit_code == 0
    assert seen == ["image_info.describe", "image_info.describe"]
