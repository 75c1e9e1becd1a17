"""Constants and settings the SDK's tests share (a module of its own: ``conftest`` is also
the name of the server suite's conftest, which is on the path when both suites run)."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
IN_PROCESS = ("barcode", "faces", "image_info", "echo")


def live_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=data_dir,
        plugin_isolation=dict.fromkeys(IN_PROCESS, "in_process"),
        job_progress_interval_s=0.0,
        _env_file=None,
        **overrides,
    )
