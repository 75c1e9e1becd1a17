"""Scale-out tests: real Ray (the session's, or a two-node cluster of their own), several
Visor servers on one PostgreSQL database. Skipped, with the reason, where Ray or
PostgreSQL is missing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from executors import ray_cluster  # noqa: F401  (fixture)

_PG_CONNINFO = os.environ.get(
    "VISOR_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


@pytest.fixture
def shared_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for servers to share; dropped after."""
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'visor-server[postgres]')")
    try:
        admin = psycopg.connect(_PG_CONNINFO, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL reachable at {_PG_CONNINFO!r}: {exc}".strip())
    name = f"visor_scaleout_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    info = admin.info
    try:
        yield f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
