"""Databases for any test package: SQLite, and throwaway PostgreSQL databases.

Import the fixtures into a ``conftest.py`` (``from databases import database_url,
postgres_url``), or make a database of your own with :func:`throwaway_database`. Each
PostgreSQL database is created on 127.0.0.1:5432 as user ``postgres`` (override with
``VISOR_TEST_POSTGRES``, a psycopg conninfo string), given a unique name and dropped
afterwards; where psycopg or a server is missing the test is skipped with the reason.
``database_url`` tests get the tables emptied (the schema stays: migrations are idempotent).
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


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    """libpq conninfo of the maintenance database (to create, drop and alter test ones)."""
    return ADMIN_CONNINFO


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One throwaway database for the session (``database_url`` empties it per test)."""
    with throwaway_database() as url:
        yield url


def clear_tables(url: str) -> None:
    """Empty every ``visor_`` table except the migration version."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = [
                t
                for t in inspect(conn).get_table_names()
                if t.startswith("visor_") and t != "visor_alembic_version"
            ]
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)}"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` means the default: SQLite (WAL) under the test's data directory."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    clear_tables(url)
    return url
