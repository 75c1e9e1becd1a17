"""``Visor`` against a live server: every method, typed results, errors."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from client_setup import ROOT, SAMPLES
from live_server import LiveServer, free_port
from visor_client import (
    Box,
    InvalidInput,
    JobNotFinished,
    JobStatus,
    NotFound,
    PluginNotFound,
    RetryPolicy,
    ToolNotFound,
    Visor,
    VisorConnectionError,
    VisorTimeout,
)
from visor_client.errors import JobFinished

pytestmark = pytest.mark.slow

FACE = SAMPLES / "face.jpg"
QR = SAMPLES / "qr.png"


@pytest.fixture
def visor(live: LiveServer) -> Visor:
    with Visor(live.url) as client:
        yield client


def test_url_and_key_come_from_the_environment(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISOR_URL", live.url.removeprefix("http://"))  # host:port is enough
    monkeypatch.setenv("VISOR_API_KEY", "vsr_0123456789_" + "a" * 43)
    with Visor() as client:
        assert client.url == live.url
        assert client._http.headers["Authorization"] == "Bearer vsr_0123456789_" + "a" * 43
    with Visor(live.url, api_key="") as client:  # an explicit empty key sends none
        assert "Authorization" not in client._http.headers
        assert client.health() == {"status": "ok"}


def test_plugins_manifest_and_health(visor: Visor) -> None:
    assert visor.ready()["status"] == "ready"
    names = {p.name: p for p in visor.plugins()}
    assert {"barcode", "faces", "image_info", "echo"} <= set(names)
    manifest = visor.plugin("faces")
    assert manifest.default_tool == "detect"
    assert "min_size" in manifest.tools[0].input_schema["properties"]
    assert visor.plugin_health("faces").state in ("INITIALIZED", "RUNNING")


def test_analyze_every_image_form_gives_typed_results(visor: Visor) -> None:
    by_path = visor.analyze("faces", FACE, min_size=40)
    face = by_path.faces[0]
    assert isinstance(face.box, Box) and face.box.width > 20
    assert 0 <= (face.confidence or 0) <= 1
    assert by_path.raw["plugin"] == "faces" and by_path.tool == "detect"
    assert by_path["count"] == 1 and by_path.regions() == by_path.faces

    same = [
        visor.analyze("faces", FACE.read_bytes(), "detect", args={"min_size": 40}),
        visor.analyze("faces", str(FACE), min_size=40),
        visor.analyze("faces", Image.open(FACE), min_size=40),
    ]
    assert all(r.faces[0].box == face.box for r in same)

    array = np.zeros((12, 20, 3), dtype=np.uint8)
    described = visor.analyze("image_info", array)
    assert (described["width"], described["height"]) == (20, 12)

    qr = visor.analyze("barcode", QR)
    assert qr.text == "https://example.org/visor"
    assert len(qr.barcodes[0].polygon or []) == 4

    rendered = visor.analyze("faces", FACE, render=True)
    assert rendered.rendered_image and rendered.rendered_image.startswith("iVBOR")


def test_url_and_server_path_inputs_reach_the_server(visor: Visor) -> None:
    # This server allows neither (the defaults): the refusal proves the field was sent.
    with pytest.raises(InvalidInput, match="image_url"):
        visor.analyze("image_info", "https://example.org/photo.jpg")
    with pytest.raises(InvalidInput, match="image_path"):
        visor.analyze("image_info", image_path="face.jpg")


def test_files_upload_use_list_delete(visor: Visor) -> None:
    info = visor.upload(FACE)
    assert info.filename == "face.jpg" and info.mime_type == "image/jpeg"
    assert visor.analyze("faces", info).faces  # a FileInfo is an image_ref
    assert visor.analyze("faces", image_ref=info.id).faces
    assert visor.file(info.id).sha256 == info.sha256
    assert info.id in {f.id for f in visor.files().files}
    assert visor.delete_file(info).id == info.id
    with pytest.raises(NotFound):
        visor.file(info.id)


def test_jobs_submit_wait_events_result_list_cancel(visor: Visor) -> None:
    marker = uuid.uuid4().hex
    done = visor.submit_job("echo", text=marker, wait=30)
    assert done.status is JobStatus.SUCCESS and done.output().result["text"] == marker
    assert not done.replayed

    job = visor.submit_job("echo", tool="sleep", seconds=0.3, steps=3)
    assert job.status is JobStatus.PENDING
    events = list(visor.job_events(job))
    assert events[0].kind == "status" and events[-1].job.status is JobStatus.SUCCESS
    assert [e.job.progress for e in events if e.kind == "progress"][-1] == 1.0
    assert visor.job_result(job.id).result == {"slept": True}
    with pytest.raises(JobFinished):
        visor.cancel_job(job)

    slow = visor.submit_job("echo", tool="sleep", seconds=30, steps=300)
    with pytest.raises(JobNotFinished):
        visor.job_result(slow)
    with pytest.raises(VisorTimeout):  # the client's own deadline, not the job's
        visor.wait_job(slow, timeout=0.5)
    assert visor.cancel_job(slow).id == slow.id
    cancelled = visor.wait_job(slow, timeout=30)
    assert cancelled.status is JobStatus.CANCELLED
    with pytest.raises(Exception, match="cancel") as failure:
        cancelled.output()
    assert failure.value.code == "cancelled"  # type: ignore[attr-defined]

    page = visor.jobs(plugin="echo", limit=1, results=False)
    assert len(page.jobs) == 1 and page.next_cursor is not None
    assert page.jobs[0].result is None
    every = list(visor.iter_jobs(plugin="echo", page_size=1))
    assert {done.id, job.id, slow.id} <= {j.id for j in every}
    assert visor.job(done).status is JobStatus.SUCCESS


def test_pipelines_save_run_saved_inline_as_job_delete(visor: Visor) -> None:
    spec = json.loads((ROOT / "examples/pipelines/face-colours.json").read_text())
    spec["name"] = f"sdk-{uuid.uuid4().hex[:8]}"
    saved = visor.save_pipeline(spec)
    assert saved.name == spec["name"]
    assert spec["name"] in {p.name for p in visor.pipelines()}
    assert visor.pipeline(spec["name"]).spec["steps"][0]["id"] == "faces"

    ran = visor.run_pipeline(spec["name"], FACE)
    assert ran.step("faces").faces[0].box.width > 20
    assert ran.steps["colours"][0]["result"]["dominant_colors"]
    inline = visor.run_pipeline({"steps": spec["steps"]}, FACE)
    assert inline.steps["faces"] == ran.steps["faces"]
    as_job = visor.submit_job("pipeline", FACE, spec["name"], wait=30)
    assert as_job.output().result["steps"]["faces"] == ran.steps["faces"]

    yaml_text = f"name: {spec['name']}\nsteps:\n  - id: faces\n    tool: faces.detect\n"
    assert visor.save_pipeline(yaml_text).spec["steps"][0]["tool"] == "faces.detect"
    visor.delete_pipeline(spec["name"])
    with pytest.raises(NotFound):
        visor.pipeline(spec["name"])


def test_video_job_reports_progress(visor: Visor) -> None:
    job = visor.submit_video(SAMPLES / "codes.mp4", "barcode", sample={"fps": 1})
    seen: list[str] = []
    done = visor.wait_job(
        job, timeout=120, on_progress=lambda j: seen.append(j.progress_message or "")
    )
    assert done.status is JobStatus.SUCCESS, done.error
    assert any(message.startswith("frames ") for message in seen)
    values = {v["text"] for v in done.output().result["summary"]["values"]}
    assert values == {"VISOR-A", "VISOR-B"}


def test_stream_answers_every_frame_and_refusals_raise(visor: Visor) -> None:
    with visor.stream("barcode") as stream:  # the default tool
        answers = list(stream.process([QR, FACE.read_bytes(), QR]))
    assert [a.frame for a in answers] == [1, 2, 3]
    assert answers[0].output().text == "https://example.org/visor"
    assert answers[1].output().barcodes == []

    with visor.stream("image_info", "describe", dominant_colors=2) as stream:
        with pytest.raises(VisorTimeout):  # nothing sent, nothing answered
            stream.receive(timeout=0.2)
        stream.send(b"not an image")
        bad = stream.receive(timeout=30)
        assert not bad.ok
        with pytest.raises(InvalidInput):
            bad.output()
        stream.send(FACE)
        assert len(stream.receive(timeout=30).output()["dominant_colors"]) == 2

    with visor.stream("barcode", "nope") as stream, pytest.raises(ToolNotFound):
        stream.receive(timeout=30)


def test_errors_carry_the_envelope(visor: Visor, tmp_path: Path) -> None:
    with pytest.raises(PluginNotFound) as missing:
        visor.analyze("nope")
    error = missing.value
    assert (error.status, error.code, error.type) == (404, "plugin_not_found", "PluginError")
    assert "barcode" in error.details["available"]
    assert error.envelope["error"]["message"] == error.message

    with pytest.raises(InvalidInput) as misspelled:
        visor.analyze("image_info", FACE, dominant_colours=3)
    assert "dominant_colors" in misspelled.value.message
    assert misspelled.value.details["errors"]

    with pytest.raises(ToolNotFound):
        visor.analyze("faces", FACE, "nope")
    with pytest.raises(TypeError, match="one image"):
        visor.analyze("faces", FACE, image_ref="x")
    with pytest.raises(FileNotFoundError):
        visor.analyze("faces", tmp_path / "missing.jpg")

    quick = RetryPolicy(backoff_s=0.01)  # a refused connection is retried: quickly, here
    with (
        Visor(f"http://127.0.0.1:{free_port()}", retry=quick) as nowhere,
        pytest.raises(VisorConnectionError),
    ):
        nowhere.health()
    with Visor(visor.url, timeout=0.3) as impatient, pytest.raises(VisorTimeout):
        impatient.analyze("echo", tool="sleep", seconds=1)
