"""Pipeline fan-out is bounded: regions per for_each step, calls per run, the key's request
rate per call, and a client that goes away stops its run.

``grid`` stands for a plugin author's detector that finds ``n`` regions (as many as asked),
``size`` for a per-region tool; both run in-process (cheap and countable). The disconnect
test runs ``blocking.block`` in a real worker process on a live server: it sleeps an hour
and only a cancel (the worker killed) ends it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import b64, png_bytes
from live_server import LiveServer
from pydantic import BaseModel, Field
from visor_test_plugins.blocking import BlockingPlugin

from app.auth.keys import KeyCreate
from app.auth.principal import Principal, acting_as
from app.auth.quotas import ConcurrencyLimit, TokenBucket
from app.auth.scopes import Scope
from app.main import create_app
from app.pipelines.budget import PipelineLimits, RunBudget
from app.plugins.base import ImageInput, Plugin, tool
from app.plugins.images import load_image
from app.plugins.loader.plugin_loader import source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings

pytestmark = pytest.mark.timeout(120)

MAX_REGIONS, MAX_CALLS = 5, 8


class GridInput(ImageInput):
    n: int = Field(ge=0, le=10_000)


class Cell(BaseModel):
    box: list[int]


class GridOutput(BaseModel):
    cells: list[Cell]
    count: int


class SizeOutput(BaseModel):
    width: int
    height: int
    spot: Cell


class GridPlugin(Plugin):
    name = "grid"
    version = "1.0.0"
    isolation = "in_process"

    @tool(default=True, description="Find n small regions.")
    def grid(self, args: GridInput) -> GridOutput:
        width, _ = load_image(args).size
        cells = [Cell(box=[(3 * i) % (width - 4), 2, 4, 4]) for i in range(args.n)]
        return GridOutput(cells=cells, count=len(cells))

    @tool(description="The image's size, and a spot in it.")
    def size(self, args: ImageInput) -> SizeOutput:
        width, height = load_image(args).size
        return SizeOutput(width=width, height=height, spot=Cell(box=[1, 1, 2, 2]))


IMAGE = b64(png_bytes((64, 32)))


def _fan_out(n: int, *, steps: int = 1) -> dict[str, Any]:
    each = [{"id": f"each{i}", "tool": "grid.size", "for_each": "find.cells"} for i in range(steps)]
    return {"spec": {"steps": [{"id": "find", "tool": "grid", "args": {"n": n}}, *each]}}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("fan-out"),
        pipeline_max_regions=MAX_REGIONS,
        pipeline_max_calls=MAX_CALLS,
        _env_file=None,
    )
    app = create_app(
        settings, registry=PluginRegistry(), plugin_sources=[source_for_class(GridPlugin)]
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _calls(client: TestClient, tool: str) -> int:
    health = client.app.state.registry.health("grid")  # type: ignore[attr-defined]
    metrics = health.tools.get(tool)
    return int(metrics.calls) if metrics else 0


def _refused(response: Any, step: str, limit: int) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    details = error["details"]
    assert (details["code"], details["step"], details["limit"]) == ("invalid_input", step, limit)
    message: str = error["message"]
    return message


def test_a_for_each_step_runs_on_at_most_max_regions(client: TestClient) -> None:
    ran = client.post("/v1/pipelines/run", json={**_fan_out(MAX_REGIONS), "image": IMAGE})
    assert ran.status_code == 200, ran.text
    items = ran.json()["steps"]["each0"]
    assert len(items) == MAX_REGIONS
    for item in items:  # size saw a 4x4 crop; its result is in the 64x32 input's pixels
        x, y, w, h = item["crop"]
        assert item["crop"] == item["box"] and (w, h) == (4, 4)
        assert (item["result"]["width"], item["result"]["height"]) == (64, 32)
        assert item["result"]["spot"]["box"] == [x + 1, y + 1, 2, 2]
    before = _calls(client, "size")
    response = client.post("/v1/pipelines/run", json={**_fan_out(MAX_REGIONS + 1), "image": IMAGE})
    message = _refused(response, "each0", MAX_REGIONS)
    assert "6 regions" in message and "VISOR_PIPELINE_MAX_REGIONS" in message
    assert response.json()["error"]["details"]["regions"] == MAX_REGIONS + 1
    assert _calls(client, "size") == before  # refused before the step made any call


def test_a_run_makes_at_most_max_calls(client: TestClient) -> None:
    # 1 + 4 + 4 = 9 calls > 8: the second for_each step is refused before it starts
    before = _calls(client, "size")
    response = client.post("/v1/pipelines/run", json={**_fan_out(4, steps=2), "image": IMAGE})
    message = _refused(response, "each1", MAX_CALLS)
    assert "VISOR_PIPELINE_MAX_CALLS" in message
    assert _calls(client, "size") == before + 4  # each0 ran, each1 did not


def test_each_call_of_a_run_takes_a_token_of_the_keys_request_rate(make_client: Any) -> None:
    client = make_client([source_for_class(GridPlugin)])
    auth = client.app.state.auth
    key = auth.create_key(KeyCreate(name="fan", scope=Scope.RUN, burst=7, rate_per_s=0.001))
    headers = {"Authorization": f"Bearer {key.secret}"}
    # one request, 1 + 4 tool calls: the request's token covers the first call
    ran = client.post("/v1/pipelines/run", json={**_fan_out(4), "image": IMAGE}, headers=headers)
    assert ran.status_code == 200, ran.text
    # 7 - 5 = 2 tokens are left (without counting the calls: 6)
    answers = [client.get("/v1/plugins", headers=headers).status_code for _ in range(3)]
    assert answers == [200, 200, 429]


# -- a client that goes away ------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("fan-out-live"),
        tool_timeouts={"blocking": 600},  # far beyond the test: only a cancel ends a block
        _env_file=None,
    )
    server = LiveServer(settings, [source_for_class(BlockingPlugin)]).start()
    yield server
    server.stop()


async def _eventually(predicate: Callable[[], bool]) -> None:
    """Wait for ``predicate`` (the module's timeout bounds a test that never gets there)."""
    while not predicate():
        await anyio.sleep(0.02)


def _cancelled(live: LiveServer) -> int:
    metrics = live.app.state.registry.health("blocking").tools.get("block")
    return int(metrics.cancelled) if metrics else 0


@pytest.mark.anyio
@pytest.mark.slow
async def test_a_client_that_goes_away_cancels_its_run(live: LiveServer, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    spec = {
        "steps": [
            {"id": "wait", "tool": "blocking.block", "args": {"marker": str(marker)}},
            {"id": "then", "tool": "blocking.pid", "args_from": {}},
        ]
    }
    before = _cancelled(live)
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=90) as caller,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(lambda: caller.post("/v1/pipelines/run", json={"spec": spec}))
        await _eventually(marker.exists)
        tg.cancel_scope.cancel()  # the client gives up: its connection is closed
    await _eventually(lambda: _cancelled(live) == before + 1)
    # the worker was killed, so the plugin serves again from a new one
    async with httpx.AsyncClient(base_url=live.url, timeout=90) as caller:
        pid = await caller.post("/v1/analyze", json={"plugin": "blocking", "tool": "pid"})
    assert pid.status_code == 200, pid.text
    assert pid.json()["result"]["pid"] != int(marker.read_text())


# -- pacing at the key's rate ------------------------------------------------------------------


def _principal(rate: float, burst: int) -> Principal:
    return Principal(
        key_id="k1",
        name="pacer",
        scope=Scope.RUN,
        requests=TokenBucket(rate=rate, burst=float(burst)),
        calls=ConcurrencyLimit(4),
    )


def test_an_empty_bucket_paces_the_run_and_a_cancel_ends_the_wait() -> None:
    limits = PipelineLimits(max_regions=10, max_calls=10)
    cancel = threading.Event()
    fast, slow = _principal(rate=1000.0, burst=1), _principal(rate=0.001, burst=1)
    with acting_as(fast):
        paced = RunBudget(limits, cancel)
    with acting_as(slow):
        stuck = RunBudget(limits, cancel)
    for principal in (fast, slow):
        principal.requests.take()  # the request's own token: the bucket is empty now
    assert paced.pay("a") == {}  # the first call: paid by the request
    assert paced.pay("a") == {}  # waits a millisecond for the next token, then goes on
    assert stuck.pay("b") == {}
    answer: dict[str, Any] = {}
    waiter = threading.Thread(target=lambda: answer.update(stuck.pay("b")))
    waiter.start()  # the next token is 1,000 s away: it waits...
    cancel.set()  # ...until the client goes away
    waiter.join(30)
    assert not waiter.is_alive()
    error = answer["error"]
    assert (error["details"]["code"], error["details"]["step"]) == ("cancelled", "b")
