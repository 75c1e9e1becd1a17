"""Throwaway PostgreSQL databases for tests that need the real server.

Each database is created on 127.0.0.1:5432 as user ``postgres`` (override with
``VISOR_TEST_POSTGRES``, a psycopg conninfo string), given a unique name and dropped
afterwards. Where psycopg or a server is missing the test is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_CONNINFO = os.environ.get(
    "VISOR_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


@contextmanager
def throwaway_database(prefix: str = "visor_test") -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new, empty database; drop it on exit."""
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'visor-server[postgres]')")
    try:
        admin = psycopg.connect(ADMIN_CONNINFO, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL reachable at {ADMIN_CONNINFO!r}: {exc}".strip())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    info = admin.info
    try:
        yield f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
