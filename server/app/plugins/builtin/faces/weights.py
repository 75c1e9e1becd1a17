"""Where the faces plugin's model files are (shipped in the wheel; see NOTICE)."""

from __future__ import annotations

from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent / "weights"
