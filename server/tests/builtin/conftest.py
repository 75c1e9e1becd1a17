"""Fixtures for the built-in plugin tests: one harness per module, loaded by entry point."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.plugins.testing import PluginHarness


@pytest.fixture(scope="module")
def builtins() -> Iterator[PluginHarness]:
    """ocr, barcode and faces loaded from their ``visor.plugins`` entry points."""
    with PluginHarness("ocr", "barcode", "faces") as harness:
        yield harness
