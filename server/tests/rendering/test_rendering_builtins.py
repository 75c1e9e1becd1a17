"""Rendering the built-in tools' real findings: a QR code and the astronaut's face, drawn
by the one generic renderer from their results (no per-plugin drawing code)."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import zxingcpp
from helpers import b64, builtin_sources
from PIL import Image
from skimage import data as skimage_data


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _rendered(client: Any, plugin: str, image: Image.Image) -> tuple[dict[str, Any], Image.Image]:
    response = client.post(
        "/v1/analyze", json={"plugin": plugin, "image": b64(_png(image)), "render": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    drawn = Image.open(io.BytesIO(base64.b64decode(body["rendered_image"]))).convert("RGB")
    return body["result"], drawn


def _outline_changed(original: Image.Image, drawn: Image.Image, box: list[int]) -> bool:
    """The pixels along the box's top edge were painted over; its centre was not."""
    x, y, w, h = box
    before, after = np.asarray(original.convert("RGB")), np.asarray(drawn)
    edge = slice(x + 2, x + w - 2)
    painted = np.any(before[y, edge] != after[y, edge], axis=-1).mean()
    centre = (y + h // 2, x + w // 2)
    return bool(painted > 0.8 and np.array_equal(before[centre], after[centre]))


def test_a_qr_code_is_drawn_where_barcode_found_it(make_client: Any) -> None:
    client = make_client(builtin_sources("barcode"), force_in_process=True)
    symbol = zxingcpp.create_barcode("https://visor.example/r", zxingcpp.BarcodeFormat.QRCode)
    page = Image.new("RGB", (400, 300), (255, 255, 255))
    page.paste(Image.fromarray(np.asarray(symbol.to_image(scale=4))).convert("RGB"), (120, 60))

    result, drawn = _rendered(client, "barcode", page)

    (code,) = result["barcodes"]
    assert drawn.size == page.size
    assert _outline_changed(page, drawn, code["box"])


def test_the_astronauts_face_is_drawn_where_faces_found_it(make_client: Any) -> None:
    client = make_client(builtin_sources("faces"), force_in_process=True)
    photo = Image.fromarray(skimage_data.astronaut())

    result, drawn = _rendered(client, "faces", photo)

    assert result["faces"], "the astronaut's face is found"
    assert drawn.size == photo.size
    for face in result["faces"]:
        assert _outline_changed(photo, drawn, face["box"])
