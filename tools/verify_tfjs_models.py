"""Check the converted ONNX models against the TF.js graphs they came from, on a real photo.

    python tools/verify_tfjs_models.py package/models server/app/plugins/builtin NODE_DIR

Needs numpy, onnxruntime, scikit-image (the photo: ``astronaut``) and Node.js; NODE_DIR is a
folder where ``npm install @tensorflow/tfjs@4.22.0`` was run (the runner script is copied
there, so that its import resolves: ES modules ignore ``NODE_PATH``). Prints the largest absolute difference per
output; exits non-zero when any exceeds the tolerance.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image
from skimage import data

HERE = Path(__file__).resolve().parent
TOLERANCE = 2e-3  # float32 arithmetic in a different order (TF.js CPU vs onnxruntime)


def _inputs() -> dict[str, tuple[str, np.ndarray]]:
    photo = Image.fromarray(data.astronaut())  # 512x512 RGB
    rgb = np.asarray(photo.resize((416, 416), Image.BILINEAR), dtype=np.float32)
    bgr = rgb[:, :, ::-1]
    mean = np.array([103.53, 116.28, 123.675], np.float32)
    std = np.array([57.375, 57.12, 58.395], np.float32)
    nanodet = ((bgr - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)
    movenet = np.asarray(photo.resize((256, 256), Image.BILINEAR), dtype=np.int32)[None]
    return {
        "nanodet.json": ("nanodet-g-416.onnx", nanodet),
        "movenet-multipose.json": ("movenet-multipose-lightning.onnx", movenet),
    }


def _find(root: Path, name: str) -> Path:
    return next(root.rglob(name))


def main(argv: list[str]) -> int:
    source, onnx_root, node_dir = Path(argv[1]), Path(argv[2]), Path(argv[3])
    runner = node_dir / "verify_tfjs_models.mjs"
    shutil.copy(HERE / runner.name, runner)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for json_name, (onnx_name, tensor) in _inputs().items():
            raw = Path(tmp) / f"{json_name}.in.raw"
            tensor.tofile(raw)
            dtype = "int32" if tensor.dtype == np.int32 else "float32"
            shape = ",".join(str(d) for d in tensor.shape)
            prefix = str(Path(tmp) / json_name)
            listing = subprocess.run(
                ["node", str(runner), str((source / json_name).resolve()),
                 str(raw), dtype, shape, prefix],
                check=True, capture_output=True, text=True,
            ).stdout
            session = ort.InferenceSession(
                str(_find(onnx_root, onnx_name)), providers=["CPUExecutionProvider"]
            )
            feed = {session.get_inputs()[0].name: tensor}
            ours = dict(zip([o.name for o in session.get_outputs()],
                            session.run(None, feed), strict=True))
            for line in listing.splitlines():
                name, dims, file = line.split(" ")
                theirs = np.fromfile(file, np.float32).reshape([int(d) for d in dims.split(",")])
                key = name if name in ours else f"{name}:0"
                mine = ours[key] if key in ours else next(iter(ours.values()))  # one output
                diff = float(np.abs(mine - theirs).max())
                worst = max(worst, diff)
                print(f"{onnx_name:36} {name:14} {dims:12} max |onnx - tfjs| = {diff:.2e}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
