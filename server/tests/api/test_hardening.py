"""Bounded body memory, unforgeable logs and no library details in responses (issue 10:
items 4, 7 and 8)."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import plugin_sources
from live_server import LiveServer

from app.observability.logging import SafeFormatter, configure_logging
from app.settings import Settings

BUDGET = 1024 * 1024


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(
        settings.model_copy(
            update={
                "force_in_process": True,
                "max_request_bytes": BUDGET,
                "max_bodies_in_flight_bytes": BUDGET,
            }
        ),
        plugin_sources("echo"),
    ).start()
    yield server
    server.stop()


def _start_slow_upload(live: LiveServer, declared: int) -> socket.socket:
    """A client that declares a big body, sends a little of it, and waits."""
    sock = socket.create_connection(("127.0.0.1", live.port))
    head = (
        f"POST /v1/plugins/echo/tools/echo/run HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"text": "')
    return sock


def test_bodies_in_flight_are_bounded(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as http:
        slow = _start_slow_upload(live, BUDGET - 1000)
        try:
            # Wait until the server holds the slow body's budget (it answers 503 then).
            for _ in range(500):
                response = http.post("/v1/plugins/echo/tools/echo/run", json={"text": "x" * 5000})
                if response.status_code == 503:
                    break
            assert response.status_code == 503, response.text
            error = response.json()["error"]
            assert error["details"]["code"] == "overloaded"
            assert response.headers["retry-after"] == "1"
            assert http.get("/v1/health").status_code == 200  # bodiless requests still pass
        finally:
            slow.close()
        for _ in range(500):  # the budget comes back when the slow request ends
            response = http.post("/v1/plugins/echo/tools/echo/run", json={"text": "x" * 5000})
            if response.status_code == 200:
                break
        assert response.status_code == 200, response.text


def test_no_server_header_and_no_module_paths(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as http:
        health = http.get("/v1/health")
        assert "server" not in health.headers
        for path in ("/v1/plugins", "/v1/plugins/echo", "/v1/plugins/echo/health"):
            text = http.get(path).text
            assert "visor_test_plugins" not in text and "EchoPlugin" not in text, path
        manifest = http.get("/v1/plugins/echo").json()
        assert "origin" not in manifest


@pytest.mark.parametrize(
    "hostile",
    [
        "x\n2026-01-01 00:00:00,000 INFO    visor: forged line",
        "x\r\n2026-01-01 00:00:00,000 ERROR   visor: forged",
        "nul\x00byte",
        "esc\x1b[31mred",
        "lone \ud800 surrogate",
        "sep\u2028line",
    ],
)
def test_log_lines_cannot_be_forged(hostile: str) -> None:
    formatter = SafeFormatter("%(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord(
        "visor.runner", logging.INFO, __file__, 1, "call %s failed", (hostile,), None
    )
    text = formatter.format(record)
    assert "\n" not in text and "\r" not in text and "\x00" not in text and "\x1b" not in text
    text.encode("utf-8")  # writable to any UTF-8 stream


def test_tracebacks_keep_their_lines_indented() -> None:
    formatter = SafeFormatter("%(levelname)s %(name)s: %(message)s")
    try:
        raise ValueError("bad\nINFO visor: forged")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "visor", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    lines = formatter.format(record).split("\n")
    assert lines[0] == "ERROR visor: failed"
    assert all(line.startswith("    ") for line in lines[1:])
    assert any("Traceback" in line for line in lines)


def test_the_server_log_escapes_a_hostile_plugin_name(make_client: Any) -> None:
    client: TestClient = make_client(plugin_sources("echo"), force_in_process=True)
    configure_logging("INFO")
    handler = next(h for h in logging.getLogger("visor").handlers if getattr(h, "_visor", False))
    stream = io.StringIO()
    old = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        response = client.post("/v1/analyze", json={"plugin": "echo\nFORGED\x00", "args": {}})
        assert response.status_code == 404
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]
    logged = stream.getvalue()
    assert "echo\\nFORGED\\x00" in logged
    assert not any(line.startswith("FORGED") for line in logged.splitlines())
