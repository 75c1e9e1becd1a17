"""A real Visor server and Debian's Chromium driven by Playwright, for the dashboard tests
and for the screenshots in docs/img (``python server/tests/dashboard/screenshots.py``).

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``. Every request
the page makes is logged, so a test can prove that nothing left the server.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import zxingcpp
from helpers import builtin_sources, plugin_sources
from live_server import LiveServer
from PIL import Image

from app.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
#: The plugins the dashboard server runs: built-ins, a slow/progress one, a broken one.
BUILTINS = ("image_info", "barcode", "faces")
TEST_PLUGINS = ("echo", "raises", "import_fails")
QR_TEXT = "Visor dashboard QR"


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        return (
            "Debian's Chromium is not installed at /usr/bin/chromium "
            "(apt-get install chromium); the dashboard browser tests need a real browser"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e './server[dev]')"
    return None


def chromium_path() -> str:
    return str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))


def dashboard_server(data_dir: Path) -> LiveServer:
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    sources = [*builtin_sources(*BUILTINS), *plugin_sources(*TEST_PLUGINS)]
    return LiveServer(settings, sources)


@dataclass
class RequestLog:
    """Every URL a page asked for (documents, scripts, fetches, event streams, images)."""

    server: str
    urls: list[str] = field(default_factory=list)

    def record(self, request: object) -> None:
        self.urls.append(request.url)  # type: ignore[attr-defined]

    def foreign(self) -> list[str]:
        """Requests to any origin but the server's (``data:``/``blob:`` never leave)."""
        origin = urlsplit(self.server)
        outside = []
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme in {"data", "blob"}:
                continue
            if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
                outside.append(url)
        return outside


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def astronaut_png() -> bytes:
    """scikit-image's astronaut: a real photograph with one face in it."""
    from skimage import data

    return png(Image.fromarray(data.astronaut()))


def qr_png(text: str = QR_TEXT) -> bytes:
    """A QR code written by zxing-cpp, with a white quiet zone around it."""
    code = np.asarray(
        zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_image(scale=6)
    )
    canvas = Image.new("L", (code.shape[1] + 120, code.shape[0] + 120), 255)
    canvas.paste(Image.fromarray(code), (60, 60))
    return png(canvas.convert("RGB"))


def not_an_image() -> bytes:
    return b"this is a text file, not an image\n" * 4
