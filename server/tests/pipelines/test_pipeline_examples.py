"""The pipelines shipped in examples/pipelines/ save and run on real images."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from helpers import builtin_sources
from PIL import Image, ImageDraw, ImageFont

from app.main import create_app
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "pipelines"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("examples"), _env_file=None)  # type: ignore[call-arg]
    sources = builtin_sources("faces", "image_info", "barcode", "ocr")
    app = create_app(settings, registry=PluginRegistry(), plugin_sources=sources)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        for path in sorted(EXAMPLES.iterdir()):
            kind = "application/yaml" if path.suffix == ".yaml" else "application/json"
            saved = test_client.post(
                "/v1/pipelines", content=path.read_bytes(), headers={"content-type": kind}
            )
            assert saved.status_code == 201, (path.name, saved.text)
        yield test_client


def _label() -> bytes:
    """A white label: a QR code and two lines of large printed text."""
    label = Image.new("L", (900, 420), 255)
    symbol = zxingcpp.create_barcode("VISOR-LABEL-42", zxingcpp.BarcodeFormat.QRCode)
    label.paste(Image.fromarray(np.asarray(symbol.to_image(scale=8))), (620, 80))
    draw = ImageDraw.Draw(label)
    font = ImageFont.load_default(size=48)
    draw.text((40, 110), "SHIP TO BERLIN", fill=0, font=font)
    draw.text((40, 200), "PARCEL 7 OF 9", fill=0, font=font)
    buf = io.BytesIO()
    label.save(buf, "PNG")
    return buf.getvalue()


def test_both_examples_are_saved(client: TestClient) -> None:
    names = {p["name"] for p in client.get("/v1/pipelines").json()["pipelines"]}
    assert names == {"face-colours", "label"}


def test_label_reads_the_code_and_the_text(client: TestClient) -> None:
    image = base64.b64encode(_label()).decode("ascii")
    response = client.post("/v1/pipelines/label/run", json={"image": image})
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]
    assert [c["text"] for c in steps["codes"]["barcodes"]] == ["VISOR-LABEL-42"]
    assert "SHIP TO BERLIN" in steps["text"]["text"]
    assert "PARCEL 7 OF 9" in steps["text"]["text"]


def test_face_colours_describes_the_face_in_the_sample(client: TestClient) -> None:
    image = base64.b64encode((ROOT / "samples" / "face.jpg").read_bytes()).decode("ascii")
    response = client.post("/v1/pipelines/face-colours/run", json={"image": image})
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]
    assert len(steps["faces"]["faces"]) == 1
    (face,) = steps["colours"]
    assert len(face["result"]["dominant_colors"]) == 3
