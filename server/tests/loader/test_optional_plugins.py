"""An optional plugin without its extra: one log line, UNAVAILABLE, never offered, no worker.

The ``ocr-rapid`` built-in needs the ``ocr-rapid`` extra. Its requirement list is pointed
at a module that is not installed, so the real check (``importlib.util.find_spec``) finds
it missing, exactly as on a default install.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import builtin_sources

from app.plugins.builtin.rapid_ocr import bundle
from app.plugins.loader.plugin_registry import PluginRecord
from app.plugins.runtime.routing import RoutingExecutor

HINT = 'pip install -e "./server[ocr-rapid]"'
AppFactory = Callable[..., TestClient]


@pytest.fixture
def without_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle, "REQUIRED_MODULES", ("rapidocr", "visor_no_such_module"))


class _Records(logging.Handler):
    """Every record that reaches the ``visor`` logger, whatever handlers the app sets up."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def visor_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger("visor")
    monkeypatch.setattr(logger, "level", logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_missing_extra_is_one_log_line_and_unavailable(
    without_extra: None,
    make_client: AppFactory,
    visor_log: _Records,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[str] = []
    real = RoutingExecutor.start_plugin

    def start_plugin(self: RoutingExecutor, record: PluginRecord) -> None:
        started.append(record.name)
        real(self, record)

    monkeypatch.setattr(RoutingExecutor, "start_plugin", start_plugin)
    client = make_client(builtin_sources("ocr-rapid", "image_info"))

    about = [  # the ready line names it too, as unavailable: that is the summary, not the reason
        r
        for r in visor_log.records
        if "ocr-rapid" in r.getMessage() and not r.getMessage().startswith("visor ready")
    ]
    assert len(about) == 1, [r.getMessage() for r in about]
    line = about[0].getMessage()
    assert "\n" not in line and about[0].exc_info is None
    assert not any("Traceback" in r.getMessage() or r.exc_info for r in visor_log.records)
    assert line.startswith("plugin ocr-rapid is unavailable: visor_no_such_module not installed")
    assert HINT in line
    assert started == ["image_info"]  # no worker for a plugin that cannot run

    health = client.get("/v1/plugins/ocr-rapid/health").json()
    assert health["state"] == "UNAVAILABLE"
    assert HINT in health["reason"]
    refused = client.post("/v1/plugins/ocr-rapid/tools/read_text/run", json={"image": "eA=="})
    assert refused.status_code == 503
    assert refused.json()["error"]["details"]["code"] == "plugin_unavailable"


def test_unavailable_plugins_are_not_offered(without_extra: None, make_client: AppFactory) -> None:
    client = make_client(builtin_sources("ocr-rapid", "image_info"))
    error = client.post("/v1/analyze", json={"plugin": "ocr_rapid"}).json()["error"]
    assert error["details"]["code"] == "plugin_not_found"
    assert error["details"]["available"] == ["image_info"]
