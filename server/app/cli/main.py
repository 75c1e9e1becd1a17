"""The ``visor`` command line: the root app, ``serve``, and the command groups.

Each command lives in its own module (plugins, run, jobs, doctor); this module only wires
them up. Failures print one line from the error envelope and exit non-zero; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from app.cli.arguments import HELP_MARKUP
from app.cli.blobs import blobs
from app.cli.doctor import doctor
from app.cli.errors import debug_mode
from app.cli.jobs import jobs
from app.cli.keys import keys
from app.cli.models import models
from app.cli.pipelines import pipelines
from app.cli.plugin_new import plugins_group
from app.cli.plugins import plugins
from app.cli.run import run
from app.cli.video import video
from app.observability.logging import uvicorn_log_config

cli = typer.Typer(
    help="Visor: run vision plugin tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # tracebacks only with --debug, and then plain ones
    rich_markup_mode=HELP_MARKUP,
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"visor {version('visor-server')}")
        raise typer.Exit()


@cli.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", envvar="VISOR_DEBUG", help="Show tracebacks on errors.")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Visor: run vision plugin tools from the shell, or serve them."""
    debug_mode.set(debug)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (each loads its own plugins).")
    ] = 1,
    data_dir: Annotated[Path | None, typer.Option(help="Where jobs and files live.")] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING, ...")] = None,
) -> None:
    """Start the server on its embedded defaults (SQLite, built-in plugins, 127.0.0.1)."""
    from app.auth.exposure import serve_refusal
    from app.http_protocol import ConnectionLimits
    from app.serving import port_taken
    from app.serving import serve as serve_app
    from app.settings import Settings

    # Settings are read from the environment by every worker process, so the options go
    # there first (the MCP endpoint, for one, decides its host checks from the host).
    overrides = {"VISOR_HOST": host, "VISOR_PORT": port, "VISOR_DATA_DIR": data_dir}
    overrides["VISOR_LOG_LEVEL"] = log_level.upper() if log_level else None
    for key, value in overrides.items():
        if value is not None:
            os.environ[key] = str(value)
    settings = Settings()
    refused = serve_refusal(settings)  # no API key on a public interface (docs/security.md)
    if refused is not None:
        typer.echo(f"error: {refused}", err=True)
        raise typer.Exit(2)
    taken = port_taken(settings.host, settings.port)  # before any plugin starts
    if taken is not None:
        typer.echo(
            f"error: cannot listen on {settings.host}:{settings.port}: {taken} (another "
            "server?); choose another with --port or VISOR_PORT",
            err=True,
        )
        raise typer.Exit(2)
    serve_app(
        "app.main:app",  # an import string: required for workers > 1
        host=settings.host,
        port=settings.port,
        shutdown_timeout_s=settings.shutdown_timeout_s,
        limits=ConnectionLimits.from_settings(settings),
        timeout_keep_alive=settings.keep_alive_s,
        workers=workers,
        log_level=settings.log_level.lower(),
        server_header=False,  # no "Server: uvicorn": library details stay out of responses
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        **uvicorn_log_config(settings.log_format),  # JSON from the first line, if asked
    )


cli.add_typer(plugins_group(plugins), name="plugins")  # lists; `plugins new` scaffolds
cli.command()(run)
cli.command()(doctor)
cli.add_typer(blobs, name="blobs")
cli.add_typer(jobs, name="jobs")
cli.add_typer(keys, name="keys")
cli.add_typer(models, name="models")
cli.add_typer(pipelines, name="pipelines")
cli.add_typer(video, name="video")


def main() -> None:
    cli()
