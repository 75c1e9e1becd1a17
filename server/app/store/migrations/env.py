"""Alembic environment for Visor's database (every feature's tables, one history).

At startup :func:`app.store.migrate.upgrade` hands us an open connection in
``config.attributes["connection"]``. Run by hand (``alembic -c
server/app/store/migrations/alembic.ini upgrade head``) it connects to the URL the server
would use.
"""

from __future__ import annotations

from alembic import context

from app.store.engine import build_engine
from app.store.metadata import complete
from app.store.migrate import VERSION_TABLE, include_name

# Autogenerate compares against every table; upgrading needs none of them.
metadata = complete()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from app.settings import Settings

    return Settings().resolved_database_url()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        engine = build_engine(_url())
        with engine.begin() as conn:
            _run(conn)
        engine.dispose()
