"""What resolving an image input costs, against decoding the image the tool must do anyway.

Baseline (in the same run): ``base64.b64decode`` + Pillow ``Image.open(...).load()`` of the
same photo — the work every image tool does. Measured: ``InputResolver.resolve`` for each
form (plain base64, base64 wrapped at 76 columns, a data: URL, an uploaded file id, a file
under an input root). Printed as µs per call and as a ratio to the baseline.

    python bench/inputs.py
"""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

from PIL import Image
from skimage import data as skdata

from app.inputs.paths import PathReader
from app.inputs.resolver import InputResolver
from app.plugins.base import ImageInput, Plugin, tool
from benchlib import per_call_us


class _Describe(Plugin):
    name = "bench_image"
    version = "1"

    @tool
    def describe(self, args: ImageInput) -> dict:
        return {}


def main() -> None:
    buf = io.BytesIO()
    Image.fromarray(skdata.astronaut()).save(buf, "JPEG", quality=90)
    photo = buf.getvalue()
    text = base64.b64encode(photo).decode()
    spec = _Describe.tool_specs()["describe"]
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "photo.jpg").write_bytes(photo)
        resolver = InputResolver(
            files=lambda file_id, owner: (photo, "image/jpeg"),
            paths=PathReader([Path(root)], max_bytes=len(photo) * 2),
        )

        def baseline() -> None:
            Image.open(io.BytesIO(base64.b64decode(text))).load()

        forms = {
            "image (base64)": {"image": text},
            "image (76 columns)": {"image": base64.encodebytes(photo).decode()},
            "image (data: URL)": {"image": "data:image/jpeg;base64," + text},
            "image_ref": {"image_ref": "x" * 32},
            "image_path": {"image_path": "photo.jpg"},
        }
        base = per_call_us(baseline, 20, 7)
        print(f"photo: {len(photo) / 1024:.0f} KiB JPEG, {len(text) / 1024:.0f} KiB base64")
        print(f"{'baseline: b64decode + Pillow decode':40s} {base:9.0f} µs   1.00x")
        for name, payload in forms.items():
            cost = per_call_us(lambda p=payload: resolver.resolve(spec, p), 20, 7)
            print(f"{'resolve ' + name:40s} {cost:9.0f} µs   {cost / base:.2f}x")


if __name__ == "__main__":
    main()
