"""HEAD follows GET on every route: the GET's status and headers, no body (issue 24).

Over a real socket to a real server: the bytes after the headers must be none at all.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from helpers import plugin_sources
from live_server import LiveServer

from app.settings import Settings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("head") / "data", force_in_process=True, _env_file=None
    )
    server = LiveServer(settings, plugin_sources("echo")).start()
    yield server
    server.stop()


def _raw(live: LiveServer, method: str, path: str) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers and every byte after them, up to the server's close."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return status, headers, rest


STABLE = {"/v1/jobs", "/v1/files", "/v1/health", "/"}


@pytest.mark.parametrize(
    "path",
    ["/v1/jobs", "/v1/files", "/v1/plugins", "/v1/plugins/echo", "/v1/health", "/metrics", "/"],
)
def test_head_answers_as_get_without_a_body(live: LiveServer, path: str) -> None:
    get_status, get_headers, get_body = _raw(live, "GET", path)
    status, headers, body = _raw(live, "HEAD", path)
    assert status == get_status == "HTTP/1.1 200 OK"
    assert body == b""
    assert headers["content-type"] == get_headers["content-type"]
    assert int(headers["content-length"]) > 0  # the size a GET's body would have
    if path in STABLE:  # (plugins and metrics change as they count these very requests)
        assert headers["content-length"] == get_headers["content-length"] == str(len(get_body))


def test_head_of_a_missing_job_is_its_404(live: LiveServer) -> None:
    status, headers, body = _raw(live, "HEAD", "/v1/jobs/no-such-job")
    assert status == "HTTP/1.1 404 Not Found" and body == b""
    assert headers["content-type"] == "application/json"


def test_head_where_no_get_is_served_is_still_405(live: LiveServer) -> None:
    response = httpx.head(f"{live.url}/v1/analyze")
    assert response.status_code == 405
    assert response.headers["allow"] == "OPTIONS, POST"
