"""One answer on every door: the same saved pipeline on the same image gives the same result
(timings aside) through REST, a job, MCP, the CLI against the server and the CLI
in-process and a job from the CLI — and, when a step fails, the same envelope naming the
step.

One live server (real worker processes for the built-in tools); the in-process CLI uses
the server's own database (``VISOR_DATA_DIR``), so it runs the very pipeline that was saved.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from helpers import b64, builtin_sources
from live_server import LiveServer
from mcp import Client
from pipeline_specs import FAILING
from typer.testing import CliRunner

from app.cli.main import cli
from app.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
FACE = ROOT / "samples" / "face.jpg"
FACE_COLOURS = json.loads((ROOT / "examples" / "pipelines" / "face-colours.json").read_text())

Door = Callable[[LiveServer, str], dict[str, Any]]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("one-answer") / "data", _env_file=None
    )
    server = LiveServer(settings, builtin_sources("faces", "image_info")).start()
    for spec in (FACE_COLOURS, FAILING):
        httpx.post(f"{server.url}/v1/pipelines", json=spec, timeout=30).raise_for_status()
    yield server
    server.stop()


# -- the doors: each returns {"result": ...} or {"error": ...} -------------------------------


def rest(live: LiveServer, name: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{live.url}/v1/pipelines/{name}/run", json={"image": b64(FACE.read_bytes())}, timeout=120
    )
    body = answer.json()
    return {"error": body["error"]} if answer.status_code >= 400 else {"result": body}


def job(live: LiveServer, name: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{live.url}/v1/jobs?wait=60",
        json={"plugin": "pipeline", "tool": name, "image": b64(FACE.read_bytes())},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text  # finished within the wait
    finished = answer.json()
    if finished["status"] == "SUCCESS":
        return {"result": finished["result"]}
    assert finished["status"] == "FAILED", finished
    return {"error": finished["error"]}


def mcp(live: LiveServer, name: str) -> dict[str, Any]:
    async def call() -> Any:
        async with Client(live.mcp_url) as client:
            return await client.call_tool(f"pipeline.{name}", {"image": b64(FACE.read_bytes())})

    called = anyio.run(call)
    if called.is_error:
        return {"error": json.loads(called.content[0].text)["error"]}
    return {"result": called.structured_content}


def _cli(live: LiveServer, name: str, *where: str) -> dict[str, Any]:
    env = {"VISOR_DATA_DIR": str(live.settings.data_dir), "VISOR_SERVER": None}
    done = CliRunner().invoke(
        cli, ["run", f"pipeline.{name}", str(FACE), "--json", *where], env=env
    )
    assert done.exit_code in (0, 1), done.stderr
    line = json.loads(done.stdout)
    assert (done.exit_code == 1) == ("error" in line)
    return {"error": line["error"]} if "error" in line else {"result": line["result"]}


def cli_server(live: LiveServer, name: str) -> dict[str, Any]:
    return _cli(live, name, "--server", live.url)


def cli_in_process(live: LiveServer, name: str) -> dict[str, Any]:
    return _cli(live, name)


def cli_job(live: LiveServer, name: str) -> dict[str, Any]:
    """``visor jobs submit pipeline.NAME FILE --wait --json``: a job, from the shell."""
    done = CliRunner().invoke(
        cli,
        ["jobs", "submit", f"pipeline.{name}", str(FACE), "--wait", "--json"],
        env={"VISOR_SERVER": live.url},
    )
    assert done.exit_code in (0, 1), done.stderr
    line = json.loads(done.stdout)
    return {"error": line["error"]} if "error" in line else {"result": line["result"]}


DOORS: dict[str, Door] = {
    "job": job,
    "mcp": mcp,
    "cli --server": cli_server,
    "cli in-process": cli_in_process,
    "cli job": cli_job,
}


def _without_timings(result: dict[str, Any]) -> dict[str, Any]:
    assert set(result["timings_ms"]) == {step["id"] for step in FACE_COLOURS["steps"]}
    return {k: v for k, v in result.items() if k not in ("timings_ms", "elapsed_ms")}


def _without_timestamp(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k != "timestamp"}


@pytest.mark.parametrize("door", list(DOORS))
def test_the_same_result_on_every_door(live: LiveServer, door: str) -> None:
    reference = rest(live, "face-colours")
    assert "result" in reference, reference
    assert len(reference["result"]["steps"]["faces"]["faces"]) == 1  # a real face found
    answer = DOORS[door](live, "face-colours")
    assert "result" in answer, answer
    assert _without_timings(answer["result"]) == _without_timings(reference["result"])


@pytest.mark.parametrize("door", list(DOORS))
def test_the_same_failing_step_envelope_on_every_door(live: LiveServer, door: str) -> None:
    reference = rest(live, "failing")
    assert "error" in reference, reference
    assert reference["error"]["details"]["step"] == "colours"
    assert reference["error"]["details"]["code"] == "invalid_input"
    answer = DOORS[door](live, "failing")
    assert "error" in answer, answer
    assert _without_timestamp(answer["error"]) == _without_timestamp(reference["error"])
