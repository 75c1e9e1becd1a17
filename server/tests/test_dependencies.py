"""Declared and imported dependencies stay in step: deptry over server/ (config in its
pyproject.toml). A new import needs a declared dependency; a dependency nothing uses goes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SERVER = Path(__file__).resolve().parents[1]


def test_declared_dependencies_match_the_imports() -> None:
    deptry = Path(sys.executable).parent / "deptry"
    assert deptry.exists(), "deptry comes with the dev extra: pip install -e './server[dev]'"
    checked = subprocess.run(
        [str(deptry), "."], cwd=SERVER, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
