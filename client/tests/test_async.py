"""``AsyncVisor`` against a live server: the same methods as ``Visor``, awaited."""

from __future__ import annotations

import inspect
import uuid

import pytest

from client_setup import SAMPLES
from live_server import LiveServer
from visor_client import AsyncVisor, JobStatus, NotFound, PluginNotFound, ToolNotFound, Visor
from visor_client.errors import VisorTimeout

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FACE = SAMPLES / "face.jpg"
QR = SAMPLES / "qr.png"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_") and name != "close"
    }


def test_async_client_has_the_sync_clients_methods_and_docs() -> None:
    sync, aio = _public(Visor), _public(AsyncVisor)
    assert set(sync) == set(aio)
    for name, signature in sync.items():
        assert list(aio[name].parameters) == list(signature.parameters), name
        assert getattr(AsyncVisor, name).__doc__, name


async def test_every_method_awaited(live: LiveServer) -> None:
    async with AsyncVisor(live.url) as visor:
        assert await visor.health() == {"status": "ok"}
        assert (await visor.ready())["status"] == "ready"
        assert "faces" in {p.name for p in await visor.plugins()}
        assert (await visor.plugin("barcode")).default_tool == "read"
        assert (await visor.plugin_health("barcode")).name == "barcode"

        result = await visor.analyze("faces", FACE, min_size=40)
        assert result.faces[0].box.width > 20
        with pytest.raises(PluginNotFound) as missing:
            await visor.analyze("nope")
        assert missing.value.status == 404

        info = await visor.upload(QR)
        assert (await visor.analyze("barcode", info)).text == "https://example.org/visor"
        assert (await visor.file(info.id)).id == info.id
        assert info.id in {f.id for f in (await visor.files()).files}
        await visor.delete_file(info.id)

        marker = uuid.uuid4().hex
        done = await visor.submit_job("echo", text=marker, wait=30)
        assert done.output().result["text"] == marker
        job = await visor.submit_job("echo", tool="sleep", seconds=0.2, steps=2)
        kinds = [event.kind async for event in visor.job_events(job)]
        assert kinds[0] == "status" and "progress" in kinds
        assert (await visor.job_result(job)).result == {"slept": True}
        assert (await visor.job(job.id)).status is JobStatus.SUCCESS
        page = await visor.jobs(plugin="echo", limit=1)
        assert len(page.jobs) == 1
        listed = [j.id async for j in visor.iter_jobs(plugin="echo", page_size=1)]
        assert {done.id, job.id} <= set(listed)
        slow = await visor.submit_job("echo", tool="sleep", seconds=30, steps=300)
        with pytest.raises(VisorTimeout):
            await visor.wait_job(slow, timeout=0.5)
        await visor.cancel_job(slow)
        assert (await visor.wait_job(slow, timeout=30)).status is JobStatus.CANCELLED

        name = f"sdk-async-{uuid.uuid4().hex[:8]}"
        steps = [{"id": "faces", "tool": "faces.detect"}]
        await visor.save_pipeline({"name": name, "steps": steps})
        assert name in {p.name for p in await visor.pipelines()}
        assert (await visor.pipeline(name)).name == name
        ran = await visor.run_pipeline(name, FACE)
        assert ran.step("faces").faces
        assert (await visor.run_pipeline({"steps": steps}, FACE)).steps == ran.steps
        await visor.delete_pipeline(name)
        with pytest.raises(NotFound):
            await visor.pipeline(name)

        video = await visor.submit_video(SAMPLES / "codes.mp4", "barcode", sample={"fps": 1})
        progress: list[float] = []
        finished = await visor.wait_job(
            video, timeout=120, on_progress=lambda j: progress.append(j.progress or 0.0)
        )
        assert finished.status is JobStatus.SUCCESS and progress[-1] == 1.0

        async with visor.stream("barcode", "read") as stream:
            answers = [a async for a in stream.process([QR, QR])]
        assert [a.output().text for a in answers] == ["https://example.org/visor"] * 2
        async with visor.stream("barcode", "nope") as stream:
            with pytest.raises(ToolNotFound):
                await stream.receive(timeout=30)
