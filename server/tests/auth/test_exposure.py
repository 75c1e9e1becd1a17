"""A public interface: ``visor serve`` refuses without keys and warns when told to run open;
however the server was started, requests from another machine need a key."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_helpers import create_keys
from fastapi.testclient import TestClient
from helpers import plugin_sources
from live_server import free_port

from app.auth.exposure import AuthMode, is_loopback, refusal

pytestmark = pytest.mark.slow


def _visor() -> list[str]:
    exe = shutil.which("visor")
    return [exe] if exe else [sys.executable, "-c", "from app.cli.main import main; main()"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("VISOR_AUTH", "VISOR_HOST")},
        "VISOR_DATA_DIR": str(tmp_path / "data"),
        "VISOR_PLUGINS_ALLOWLIST": "visor_test_echo",
        "VISOR_FORCE_IN_PROCESS": "true",
        "VISOR_LOG_LEVEL": "WARNING",
        **extra,
    }
    return env


def _serve(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*_visor(), "serve", "--host", "0.0.0.0", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_health(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(f"{url}/v1/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate(timeout=10)
    return stderr.decode()


def test_the_rule() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("127.0.0.2") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("::")
    assert refusal("0.0.0.0", AuthMode.AUTO, any_keys=False) is not None
    assert refusal("0.0.0.0", AuthMode.AUTO, any_keys=True) is None
    assert refusal("0.0.0.0", AuthMode.OFF, any_keys=False) is None
    assert refusal("0.0.0.0", AuthMode.REQUIRED, any_keys=False) is None
    assert refusal("127.0.0.1", AuthMode.AUTO, any_keys=False) is None


def test_public_host_without_a_key_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    process = _serve(tmp_path, _env(tmp_path), free_port())
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "refusing to serve 0.0.0.0 without API keys" in lines[0]
    assert "visor keys create" in lines[0] and "VISOR_AUTH=off" in lines[0]


def test_public_host_with_a_key_serves_and_requires_it(tmp_path: Path) -> None:
    env = _env(tmp_path)
    created = subprocess.run(
        [*_visor(), "keys", "create", "ops", "--scope", "read"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    process = _serve(tmp_path, env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_health(url, process)
        assert httpx.get(f"{url}/v1/plugins").status_code == 401
        answer = httpx.get(f"{url}/v1/plugins", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200
        assert httpx.get(f"{url}/v1/health").status_code == 200
    finally:
        stderr = _stop(process)
    assert key.split("_", 2)[2] not in stderr


def test_auth_off_starts_open_with_a_loud_warning(tmp_path: Path) -> None:
    port = free_port()
    process = _serve(tmp_path, _env(tmp_path, VISOR_AUTH="off"), port)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_health(url, process)
        assert httpx.get(f"{url}/v1/plugins").status_code == 200
    finally:
        stderr = _stop(process)
    assert "VISOR_AUTH=off on 0.0.0.0: ANYONE WHO CAN REACH THIS PORT" in stderr


# -- however it was started: requests from another machine need a key ------------------------


def _outside_client(client: TestClient, host: str) -> TestClient:
    """The same app, reached as if through the interface ``host`` (the scope's server)."""
    return TestClient(client.app, base_url=f"http://{host}", raise_server_exceptions=False)


@pytest.mark.parametrize("interface", ["192.0.2.10", "[2001:db8::1]"])
def test_no_keys_refuses_requests_that_arrive_from_another_machine(
    make_client: Any, interface: str
) -> None:
    client = make_client(plugin_sources("echo"), force_in_process=True)
    outside = _outside_client(client, interface)
    refused = outside.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "hi"}})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["details"] == {"code": "forbidden", "reason": "no_keys"}
    assert "visor keys create" in error["message"]
    assert outside.get("/v1/health").status_code == 200  # public probes still answer
    assert _outside_client(client, "127.0.0.1").get("/v1/plugins").status_code == 200
    assert client.get("/v1/plugins").status_code == 200  # a named host is not an interface


def test_no_keys_refusal_does_not_apply_when_auth_is_off(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"), force_in_process=True, auth="off")
    assert _outside_client(client, "192.0.2.10").get("/v1/plugins").status_code == 200


def test_once_a_key_exists_outsiders_need_it_like_everyone(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"), force_in_process=True)
    keys = create_keys(client.app.state.auth)
    outside = _outside_client(client, "192.0.2.10")
    assert outside.get("/v1/plugins").status_code == 401
    authorised = {"Authorization": f"Bearer {keys.read}"}
    assert outside.get("/v1/plugins", headers=authorised).status_code == 200


def _public_address() -> str | None:
    """A non-loopback IPv4 address of this machine (``0.0.0.0`` listens on those), if any."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("198.51.100.1", 9))  # no packet is sent: this only picks a route
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return None if is_loopback(address) else address


def test_uvicorn_started_directly_on_all_interfaces_answers_outsiders_403(
    tmp_path: Path,
) -> None:
    """The deployment that bypasses ``visor serve``'s start check is still closed."""
    address = _public_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to call itself through")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "0.0.0.0",
         "--port", str(port), "--log-level", "warning"],
        env=_env(tmp_path), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_health(f"http://127.0.0.1:{port}", process)
        inside = httpx.get(f"http://127.0.0.1:{port}/v1/plugins")
        outside = httpx.get(f"http://{address}:{port}/v1/plugins")
    finally:
        _stop(process)
    assert inside.status_code == 200
    assert outside.status_code == 403, outside.text
    assert outside.json()["error"]["details"]["reason"] == "no_keys"


# -- behind a proxy: who the client is ---------------------------------------------------------


def _fail_until_blocked(url: str, forwarded_for: str) -> list[int]:
    headers = {"Authorization": "Bearer vsr_wrong_wrong", "X-Forwarded-For": forwarded_for}
    return [httpx.get(f"{url}/v1/plugins", headers=headers).status_code for _ in range(3)]


@pytest.mark.parametrize("trusted", ["127.0.0.1,::1", "", None])
def test_trusted_proxies_decide_whose_address_the_failure_limit_counts(
    tmp_path: Path, trusted: str | None
) -> None:
    """Through a trusted proxy each client has its own failed-auth budget; an untrusted
    X-Forwarded-For is ignored, so it cannot be used to dodge the limit. By default
    (``None``: the setting unset) no proxy is trusted, not even one on loopback: a local
    client rotating X-Forwarded-For must not get a fresh budget per forged address."""
    extra = {"VISOR_AUTH_FAILURES_BURST": "2"}
    if trusted is not None:
        extra["VISOR_TRUSTED_PROXIES"] = trusted
    env = _env(tmp_path, **extra)
    if trusted is None:
        env.pop("VISOR_TRUSTED_PROXIES", None)
    subprocess.run(
        [*_visor(), "keys", "create", "ops", "--scope", "read"],
        env=env, cwd=tmp_path, capture_output=True, check=True,
    )  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [*_visor(), "serve", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_health(url, process)
        first = _fail_until_blocked(url, "203.0.113.5")
        second = _fail_until_blocked(url, "203.0.113.6")
    finally:
        _stop(process)
    assert first == [401, 401, 429]
    assert second == ([401, 401, 429] if trusted else [429, 429, 429])
