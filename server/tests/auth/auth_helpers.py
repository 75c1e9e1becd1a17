"""Auth test helpers: one key of each scope, plus a revoked and an expired one; a live
server that requires them; the official MCP client sending them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from helpers import plugin_sources
from live_server import LiveServer
from mcp import Client
from sqlalchemy import update

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.auth.service import AuthService
from app.auth.tables import api_keys
from app.settings import Settings


@dataclass
class Keys:
    read: str
    run: str
    admin: str
    run2: str
    revoked: str
    expired: str
    ids: dict[str, str]


def create_keys(auth: AuthService, **quotas: Any) -> Keys:
    """One key of each scope, a second run key, a revoked key and an expired key."""
    secrets: dict[str, str] = {}
    ids: dict[str, str] = {}
    for name, scope in [
        ("read", Scope.READ),
        ("run", Scope.RUN),
        ("admin", Scope.ADMIN),
        ("run2", Scope.RUN),
        ("revoked", Scope.ADMIN),
        ("expired", Scope.ADMIN),
    ]:
        created = auth.create_key(KeyCreate(name=name, scope=scope, **quotas))
        secrets[name], ids[name] = created.secret, created.key.id
    auth.revoke_key("revoked")
    # Expire one key in the past (a key cannot be created already expired).
    with auth.index.store.engine.begin() as conn:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == ids["expired"])
            .values(expires_us=int((time.time() - 60) * 1e6))
        )
    auth.index.reload()
    return Keys(ids=ids, **secrets)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def start_secured_live(data_dir: Path) -> tuple[LiveServer, Keys]:
    """A live server with the echo plugin (in-process) and keys of every kind."""
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data_dir, force_in_process=True, auth_failures_burst=1000, _env_file=None
    )
    server = LiveServer(settings, plugin_sources("echo")).start()
    return server, create_keys(server.app.state.auth, rate_per_s=1000.0, burst=1000)


@asynccontextmanager
async def mcp_client(
    server: LiveServer, headers: dict[str, str], statuses: list[int] | None = None
) -> AsyncIterator[Client]:
    """The official client, sending ``headers``; HTTP statuses it saw go to ``statuses``."""
    from mcp.client.streamable_http import streamable_http_client

    async def record(response: httpx2.Response) -> None:
        if statuses is not None:
            statuses.append(response.status_code)

    async with (
        httpx2.AsyncClient(headers=headers, event_hooks={"response": [record]}) as http,
        Client(streamable_http_client(server.mcp_url, http_client=http)) as client,
    ):
        yield client
