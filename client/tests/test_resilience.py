"""Retries, idempotent submits and keys, against live servers.

The server is made to answer 503 ``overloaded`` (and ``plugin_unavailable``) by replacing
``ToolRunner.run`` — the one execution choke point every door goes through — so the
answers, their ``Retry-After`` and their status come from the server's real error path.
A dropped connection comes from a TCP proxy that swallows an answer the server sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.errors import ErrorCode, build_envelope
from app.plugins.runtime.tool_runner import ToolRunner
from client_setup import SAMPLES, live_settings
from helpers import plugin_sources
from live_server import LiveServer
from proxy import DroppingProxy
from visor_client import (
    AsyncVisor,
    Forbidden,
    Overloaded,
    RateLimited,
    RetryPolicy,
    Unauthorized,
    Visor,
    VisorConnectionError,
    VisorError,
)
from visor_client._core import Call

pytestmark = pytest.mark.slow


class RecordingPolicy(RetryPolicy):
    """The real policy, remembering every wait it chose after an answer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        object.__setattr__(self, "waits", [])

    def after_response(self, call: Call, attempt: int, response: httpx.Response) -> float | None:
        wait = super().after_response(call, attempt, response)
        if wait is not None:
            self.waits.append(wait)  # type: ignore[attr-defined]
        return wait


def _refuse(monkeypatch: pytest.MonkeyPatch, code: ErrorCode, times: int) -> list[str]:
    """Make the server refuse the next ``times`` tool calls with ``code``; returns the log
    of calls (``refused`` / ``ran``)."""
    original = ToolRunner.run
    calls: list[str] = []

    def run(self: ToolRunner, plugin: str, payload: dict[str, Any], tool: str | None = None):  # type: ignore[no-untyped-def]
        if len([c for c in calls if c == "refused"]) < times:
            calls.append("refused")
            details = {"retry_after_s": 1} if code is ErrorCode.OVERLOADED else {}
            return {}, build_envelope(code, "the plugin is busy", details=details, plugin=plugin)
        calls.append("ran")
        return original(self, plugin, payload, tool)

    monkeypatch.setattr(ToolRunner, "run", run)
    return calls


def test_overloaded_is_retried_after_retry_after(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _refuse(monkeypatch, ErrorCode.OVERLOADED, times=2)
    policy = RecordingPolicy()
    with Visor(live.url, retry=policy) as visor:
        assert visor.analyze("echo", text="hi")["text"] == "hi"
    assert calls == ["refused", "refused", "ran"]
    assert policy.waits == [1.0, 1.0]  # the server's Retry-After, not the backoff


def test_overloaded_beyond_the_retries_raises_with_retry_after(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _refuse(monkeypatch, ErrorCode.OVERLOADED, times=10)
    with (
        Visor(live.url, retry=RetryPolicy(max_retries=1)) as visor,
        pytest.raises(Overloaded) as refused,
    ):
        visor.analyze("echo", text="hi")
    assert calls == ["refused", "refused"]
    error = refused.value
    assert (error.status, error.code, error.retry_after_s) == (503, "overloaded", 1.0)


def test_plugin_unavailable_is_not_retried(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _refuse(monkeypatch, ErrorCode.PLUGIN_UNAVAILABLE, times=10)
    with Visor(live.url) as visor, pytest.raises(VisorError) as refused:
        visor.analyze("echo")
    assert refused.value.status == 503 and calls == ["refused"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_client_retries_too(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _refuse(monkeypatch, ErrorCode.OVERLOADED, times=1)
    async with AsyncVisor(live.url) as visor:
        assert (await visor.analyze("echo", text="a"))["text"] == "a"
    assert calls == ["refused", "ran"]


@pytest.fixture
def proxy(live: LiveServer) -> Iterator[DroppingProxy]:
    running = DroppingProxy(live.port).start()
    yield running
    running.stop()


def test_submit_resent_after_a_dropped_connection_makes_one_job(
    live: LiveServer, proxy: DroppingProxy
) -> None:
    marker = uuid.uuid4().hex
    since = datetime.now(UTC).isoformat()
    with Visor(proxy.url) as visor:
        visor.health()  # a kept-alive connection, so the drop hits a request in flight
        proxy.drops = 1
        job = visor.submit_job("echo", text=marker)
        assert proxy.dropped == 1
        assert job.replayed  # the answer to the resend: the job the first attempt made
        visor.wait_job(job, timeout=60)
    with Visor(live.url) as direct:
        made = [
            j
            for j in direct.iter_jobs(plugin="echo", created_after=since)
            if (j.result or {}).get("text") == marker
        ]
    assert [j.id for j in made] == [job.id]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_submit_resent_after_a_dropped_connection_is_replayed(
    live: LiveServer, proxy: DroppingProxy
) -> None:
    async with AsyncVisor(proxy.url) as visor:
        await visor.health()
        proxy.drops = 1
        job = await visor.submit_job("echo", text="async", idempotency_key=uuid.uuid4().hex)
        assert proxy.dropped == 1 and job.replayed


def test_job_events_reconnect_after_a_dropped_stream(
    live: LiveServer, proxy: DroppingProxy
) -> None:
    with Visor(proxy.url) as visor:
        job = visor.submit_job("echo", tool="sleep", seconds=0.3, steps=3)
        proxy.drops = 1
        events = list(visor.job_events(job, timeout=60))
    assert proxy.dropped == 1
    assert events[-1].job.status.value == "SUCCESS"


def test_a_call_that_is_not_safe_to_resend_raises_instead(
    live: LiveServer, proxy: DroppingProxy, tmp_path: Path
) -> None:
    with Visor(proxy.url) as visor:
        visor.health()
        before = {f.id for f in visor.files().files}
        proxy.drops = 1
        with pytest.raises(VisorConnectionError):
            visor.upload(SAMPLES / "qr.png")
        # The server did store it: resending would have stored it twice.
        assert len({f.id for f in visor.files().files} - before) == 1


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own: creating a key turns authentication on for good."""
    server = LiveServer(live_settings(tmp_path / "data"), plugin_sources("echo"))
    yield server.start()
    server.stop()


def test_keys_scopes_rate_limit_retry_and_revoke(keyed: LiveServer) -> None:
    with Visor(keyed.url, api_key="") as open_server:
        admin = open_server.create_key("sdk-admin", "admin")
    assert admin.key.scope == "admin" and admin.secret.startswith("vsr_")

    with Visor(keyed.url, api_key="") as anonymous, pytest.raises(Unauthorized) as refused:
        anonymous.plugins()
    assert refused.value.status == 401

    with Visor(keyed.url, api_key=admin.secret) as visor:
        runner = visor.create_key("sdk-runner", "run", rate_per_s=1, burst=1)
        reader = visor.create_key("sdk-reader", "read")
        assert {"sdk-admin", "sdk-runner", "sdk-reader"} <= {k.name for k in visor.keys()}  # noqa: SIM118

        policy = RecordingPolicy()
        with Visor(keyed.url, api_key=runner.secret, retry=policy) as limited:
            limited.analyze("echo", text="1")
            assert limited.analyze("echo", text="2")["text"] == "2"  # after a 429
        assert policy.waits and policy.waits[0] >= 1.0
        with Visor(keyed.url, api_key=runner.secret, retry=RetryPolicy(max_retries=0)) as once:
            once.health()
            with pytest.raises(RateLimited) as limited_error:
                once.analyze("echo")
        assert limited_error.value.status == 429 and limited_error.value.retry_after_s

        with Visor(keyed.url, api_key=reader.secret) as read_only:
            assert read_only.plugins()
            with pytest.raises(Forbidden):
                read_only.analyze("echo")
            with pytest.raises(VisorError) as stream_refused:
                read_only.stream("echo", "echo").receive(timeout=10)
            assert stream_refused.value.status == 403

        assert visor.revoke_key("sdk-runner").revoked_at is not None
    with Visor(keyed.url, api_key=runner.secret) as revoked, pytest.raises(Unauthorized):
        revoked.plugins()
