"""Apply the database's Alembic migrations (at startup, before the dispatcher runs).

Several servers sharing one PostgreSQL database may start at once; a transaction-scoped
advisory lock lets exactly one of them migrate while the others wait and then find the
schema current. On SQLite the ``BEGIN IMMEDIATE`` write lock does the same.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from app.store.engine import WRITE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x7669736F72  # "visor"
VERSION_TABLE = "visor_alembic_version"


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Autogenerate looks only at Visor's tables: the database may be shared."""
    return type_ != "table" or (name or "").startswith("visor_")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
