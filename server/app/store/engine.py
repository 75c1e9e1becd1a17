"""Engine construction: SQLite tuned for a job queue (and every other table), PostgreSQL as given.

SQLite runs in WAL mode (readers never block the writer) with ``synchronous=NORMAL``: a
committed job survives ``kill -9`` of the server (the WAL is in the OS page cache) and
only an OS crash or power loss can drop the last commits. Write transactions start with
``BEGIN IMMEDIATE`` so two writers queue on ``busy_timeout`` instead of failing with
"database is locked" when a read lock cannot be upgraded. Reads run without an explicit
transaction: each is one statement, and WAL gives it a consistent snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE = {"visor_write": True}

_BUSY_TIMEOUT_MS = 30_000


def build_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        pool_size=8,
        max_overflow=16,
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; "begin" below emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("visor_write", False):
            # Straight to the driver: this runs for every write on the hot path.
            conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

    return engine
