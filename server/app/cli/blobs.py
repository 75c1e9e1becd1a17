"""``visor blobs copy``: move uploaded files, job inputs and model files to another blob
store (docs/deploy.md: from one host's data directory to PostgreSQL).

Run it with the servers stopped, then start them with the new ``VISOR_BLOB_URL``::

    visor blobs copy --to database          # VISOR_DATABASE_URL names the database
    VISOR_BLOB_URL=database visor serve ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.errors import CliFailure, ExitCode, guarded
from app.errors import ErrorCode

blobs = typer.Typer(help="Move blobs (uploads, job inputs, models) between stores.")


@blobs.command("copy")
@guarded
def copy(
    to: Annotated[
        str, typer.Option(help="Target store: 'database', file:///path or s3://bucket/prefix.")
    ],
    source: Annotated[
        str, typer.Option("--from", help="Source store (default: the data directory).")
    ] = "",
    data_dir: Annotated[
        Path | None, typer.Option(help="The server's data directory (default: VISOR_DATA_DIR).")
    ] = None,
    delete_source: Annotated[
        bool, typer.Option(help="Delete each blob from the source once copied.")
    ] = False,
) -> None:
    """Copy every blob to another store; run again to resume (copied ones are skipped)."""
    from app.blobs.factory import BlobUrlError, build_blob_store
    from app.blobs.transfer import transfer
    from app.settings import Settings
    from app.store.engine import build_engine
    from app.store.migrate import upgrade

    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    if "database" in (to, source):  # the blob tables come with the schema
        engine = build_engine(settings.resolved_database_url())
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    try:
        origin, target = build_blob_store(settings, source), build_blob_store(settings, to)
    except BlobUrlError as exc:
        raise CliFailure.of(ErrorCode.INVALID_INPUT, str(exc), ExitCode.USAGE) from None
    report = transfer(origin, target, delete_source=delete_source)
    for scope, count in report.copied.items():
        typer.echo(f"{scope}: {count} copied, {report.skipped[scope]} already there")
    typer.echo(f"{report.bytes_copied} bytes from {origin.describe()} to {target.describe()}")
    if delete_source:
        typer.echo(f"{report.deleted} deleted from the source")
