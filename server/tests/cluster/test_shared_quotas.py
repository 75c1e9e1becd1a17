"""Quotas across replicas (issue 27): two API servers on one database and one Redis hold a
key to its request rate together (±10%), and to its concurrent calls; without Redis each
server would admit the full rate on its own (the per-process default)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from databases import postgres_url  # noqa: F401  (fixture)
from live_server import LiveServer, free_port
from waiting import wait_until

from app.auth import shared_quotas
from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.auth.shared_quotas import RedisQuotas
from app.auth.store import KeyStore
from app.settings import Settings
from app.store.engine import build_engine
from app.store.migrate import upgrade

REDIS_URL = "redis://127.0.0.1:6379/0"
RATE = 20.0
WINDOW_S = 5.0
BURST = 60  # 3 s of tokens: a pause of the (shared, loaded) machine loses none

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def redis_url() -> str:
    redis = pytest.importorskip("redis", reason="the redis extra is not installed")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def secret(postgres_url: str) -> str:  # noqa: F811
    engine = build_engine(postgres_url)
    try:
        upgrade(engine)
        created = KeyStore(engine).create(
            KeyCreate(
                name=f"rate-{uuid.uuid4().hex[:8]}", scope=Scope.READ, rate_per_s=RATE, burst=BURST
            )
        )
    finally:
        engine.dispose()
    return created.secret


@pytest.fixture
def servers(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
    redis_url: str,
    secret: str,
) -> Iterator[list[LiveServer]]:
    """Started once the key exists, so that authentication is on from the first request."""
    started = []
    try:
        for name in ("a", "b"):
            settings = Settings(
                data_dir=tmp_path / name,
                database_url=postgres_url,
                quota_redis_url=redis_url,
                plugins_allowlist=[],
                auth_failures_burst=1000,
            )
            started.append(LiveServer(settings, sources=[]).start())
        yield started
    finally:
        for server in started:
            server.stop()


def test_two_servers_hold_one_key_to_its_rate(servers: list[LiveServer], secret: str) -> None:
    threads_per_server = 3
    ready = threading.Barrier(threads_per_server * len(servers) + 1)  # all drained the bucket
    go = threading.Barrier(threads_per_server * len(servers) + 1)  # the window is set
    window: list[float] = []
    admitted = refused = 0
    lock = threading.Lock()

    def hammer(server: LiveServer) -> None:
        nonlocal admitted, refused
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            while client.get("/v1/plugins").status_code != 429:
                pass  # connected, and the burst spent
            ready.wait(30)
            go.wait(30)
            end = window[1]
            while time.monotonic() < end:
                status = client.get("/v1/plugins").status_code
                assert status in (200, 429), status
                with lock:  # what was sent inside the window counts
                    admitted += status == 200
                    refused += status == 429

    threads = [
        threading.Thread(target=hammer, args=(s,))
        for s in servers
        for _ in range(threads_per_server)
    ]
    for thread in threads:
        thread.start()
    ready.wait(30)
    start = time.monotonic()
    window.extend([start, start + WINDOW_S])
    go.wait(30)
    for thread in threads:
        thread.join(60)
    # The clients asked for far more than the rate; both servers together admitted RATE
    # per second of the window (plus what the bucket held at its start), within 10%.
    assert refused > admitted
    assert 0.9 * RATE * WINDOW_S <= admitted <= 1.1 * RATE * WINDOW_S, admitted


def test_concurrent_calls_are_counted_across_servers(redis_url: str) -> None:
    key = uuid.uuid4().hex
    one, two = RedisQuotas(redis_url), RedisQuotas(redis_url)
    try:
        first, second = one.calls(key, 2), two.calls(key, 2)
        assert first.try_acquire() and second.try_acquire()
        assert not first.try_acquire() and not second.try_acquire()  # 2 held in all
        second.release()
        assert first.try_acquire()
        first.release()
        first.release()
        assert second.try_acquire() and second.try_acquire()
    finally:
        one.stop()
        two.stop()


def test_a_dead_servers_slots_come_back_when_its_leases_expire(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_quotas, "LEASE_S", 0.5)
    key = uuid.uuid4().hex
    dead, alive = RedisQuotas(redis_url), RedisQuotas(redis_url)  # dead: never renews
    try:
        assert dead.calls(key, 1).try_acquire()  # ... and is killed holding the slot
        assert not alive.calls(key, 1).try_acquire()
        wait_until(lambda: alive.calls(key, 1).try_acquire(), "the dead server's lease to expire")
    finally:
        dead.stop()
        alive.stop()


def test_an_unreachable_redis_lets_requests_through() -> None:
    pytest.importorskip("redis")
    quotas = RedisQuotas(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        assert quotas.rate("k", 1.0, 1.0).take() == 0.0
        calls = quotas.calls("k", 1)
        assert calls.try_acquire() and calls.try_acquire()
        calls.release()
    finally:
        quotas.stop()
