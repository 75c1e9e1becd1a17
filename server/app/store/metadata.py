"""The one SQLAlchemy ``MetaData`` every Visor table is defined on.

Tables belong to the feature that reads and writes them (``app/<feature>/tables.py``);
they all join this metadata so that Alembic and the schema test see one database.
:func:`complete` imports them by name (this package may not import features) for the two
readers that need every table at once: Alembic's autogenerate and the schema test.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

metadata = MetaData()

#: The modules that define tables on :data:`metadata`. A feature that adds a table adds its
#: module here (and a migration in ``migrations/versions/``).
TABLE_MODULES = (
    "app.jobs.store.tables",
    "app.auth.tables",
    "app.files.tables",
    "app.pipelines.tables",
    "app.video.tables",
    "app.sources.tables",
    "app.blobs.tables",
)


def complete() -> MetaData:
    """:data:`metadata` with every Visor table defined on it."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return metadata
