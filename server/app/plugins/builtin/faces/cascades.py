"""The Haar cascade files that ship inside opencv-python(-headless) 4.x.

OpenCV 5 no longer bundles them (``cv2.data`` is gone), so their absence is reported as
a reason the operator can act on instead of a crash.
"""

from __future__ import annotations

from pathlib import Path

from app.plugins.base import PluginUnavailable

#: Caller-facing model names → file names inside ``cv2.data.haarcascades``.
CASCADES: dict[str, str] = {
    "frontal": "haarcascade_frontalface_default.xml",
    "frontal_alt2": "haarcascade_frontalface_alt2.xml",
    "profile": "haarcascade_profileface.xml",
}


def cascade_dir() -> Path:
    import cv2

    data = getattr(cv2, "data", None)
    directory = Path(getattr(data, "haarcascades", "") or "")
    if not data or not (directory / CASCADES["frontal"]).is_file():
        raise PluginUnavailable(
            f"OpenCV {cv2.__version__} has no bundled Haar cascades (OpenCV 5 dropped them); "
            'install "opencv-python-headless>=4.9,<5"'
        )
    return directory
