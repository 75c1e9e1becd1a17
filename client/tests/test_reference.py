"""docs/client.md is what client/make_reference.py writes from the docstrings now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from client_setup import ROOT


def test_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_reference", ROOT / "client/make_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = Path(module.TARGET).read_text()
    assert written == module.render(), (
        "docs/client.md is stale: run python client/make_reference.py"
    )
    for method in ("analyze", "submit_job", "wait_job", "job_events", "stream", "create_key"):
        assert f"### `{method}`" in written
