"""The rapidocr models Visor may use: only the ONNX files inside the installed wheel.

rapidocr fetches any model it does not find locally from the internet at first use. A
Visor server must never do that (offline machines, reproducibility, supply chain), so the
engine is configured with explicit paths to the bundled files, and :func:`forbid_downloads`
turns any download rapidocr still attempts into a clear ``PluginError``.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.plugins.base import PluginUnavailable

#: Works from the repository root, where the extra is defined (the package is not on PyPI).
log = logging.getLogger(__name__)

EXTRA_HINT = 'pip install -e "./server[ocr-rapid]"'


@dataclass(frozen=True)
class BundledModels:
    det: Path
    cls: Path
    rec: Path

    @property
    def directory(self) -> Path:
        return self.det.parent


#: What the ocr-rapid extra installs (checked by name, without importing them).
REQUIRED_MODULES = ("rapidocr", "onnxruntime")


def require_extra() -> None:
    """Raise PluginUnavailable naming the extra when rapidocr or onnxruntime is missing."""
    missing = [m for m in REQUIRED_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise PluginUnavailable(
            f"{' and '.join(missing)} not installed: the ocr-rapid extra is needed ({EXTRA_HINT})"
        )


def _one(directory: Path, task: str) -> Path:
    found = sorted(directory.glob(f"*{task}*.onnx"))
    if not found:
        log.warning("rapidocr: no bundled %s model in %s", task, directory)  # path: log only
        raise PluginUnavailable(
            f"the installed rapidocr wheel has no bundled {task} model; "
            "Visor does not download models; reinstall the extra "
            f"({EXTRA_HINT})"
        )
    return found[0]


def bundled_models() -> BundledModels:
    """The det/cls/rec ONNX files shipped in the rapidocr wheel (found, never fetched)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        require_extra()
        raise PluginUnavailable(f"rapidocr is not importable ({EXTRA_HINT})")
    directory = Path(spec.origin).parent / "models"
    return BundledModels(
        det=_one(directory, "det"), cls=_one(directory, "cls"), rec=_one(directory, "rec")
    )


class DownloadRefused(PluginUnavailable):
    """rapidocr tried to fetch a file: reported as PluginError/plugin_unavailable."""


def forbid_downloads() -> None:
    """Make rapidocr's downloader fail loudly instead of reaching the network."""
    from rapidocr.utils import download_file

    downloader: Any = download_file.DownloadFile
    if getattr(downloader, "_visor_forbidden", False):
        return

    def refuse(*args: Any, **kwargs: Any) -> Any:
        url = next((getattr(a, "file_url", None) for a in args if hasattr(a, "file_url")), None)
        raise DownloadRefused(
            f"rapidocr tried to download {url or 'a model'}; Visor only uses the models "
            f"bundled in the rapidocr wheel ({EXTRA_HINT})"
        )

    name = "_make_http_request" if hasattr(downloader, "_make_http_request") else "run"
    setattr(downloader, name, classmethod(refuse))
    downloader._visor_forbidden = True
