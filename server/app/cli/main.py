"""The ``visor`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

cli = typer.Typer(help="Visor: run vision plugin tools.", no_args_is_help=True)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where jobs and files live.")] = None,
) -> None:
    """Start the server on its embedded defaults (SQLite, built-in plugins, 127.0.0.1)."""
    import os

    import uvicorn

    from app.settings import Settings

    if data_dir is not None:
        os.environ["VISOR_DATA_DIR"] = str(data_dir)
    settings = Settings()
    uvicorn.run(
        "app.main:app",
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


def main() -> None:
    cli()
