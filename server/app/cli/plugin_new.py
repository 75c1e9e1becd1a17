"""``visor plugins new NAME``: write a working plugin folder with a passing test.

``visor plugins`` (no subcommand) still lists the plugins: :func:`plugins_group` turns the
listing command into the group's default, keeping its options, so this module adds the
subcommand without touching the listing.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.errors import CliFailure, ExitCode, guarded
from app.cli.scaffold import ScaffoldError, scaffold
from app.errors import ErrorCode


@guarded
def new(
    name: Annotated[str, typer.Argument(help="The plugin's name: letters, digits, _ and -.")],
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="Where to create the plugin's folder.")
    ] = Path("."),
) -> None:
    """Create a plugin folder: one tool returning a box, its schemas, a passing test."""
    try:
        root = scaffold(name, directory)
    except ScaffoldError as exc:
        raise CliFailure.of(ErrorCode.INVALID_INPUT, str(exc), ExitCode.USAGE) from None
    except OSError as exc:
        raise CliFailure.of(
            ErrorCode.INVALID_INPUT, f"cannot write the plugin: {exc}", ExitCode.USAGE
        ) from None
    python = sys.executable or "python"  # the environment Visor runs in
    typer.echo(str(root))  # stdout: the folder, for scripts; the next steps go to stderr
    typer.echo(
        "next steps (with the Python that runs Visor):\n"
        f"  cd {root}\n"
        f"  {python} -m pytest                 # runs the tool through Visor's ToolRunner\n"
        f"  {python} -m pip install -e .       # into Visor's environment\n"
        f"  visor run {name} path/to/image.png  # or reload a running server (admin key)",
        err=True,
    )


def plugins_group(listing: Callable[..., None]) -> typer.Typer:
    """``visor plugins``: ``listing`` when no subcommand is given, plus ``new``."""
    group = typer.Typer(
        invoke_without_command=True,
        help=inspect.getdoc(listing),
        rich_markup_mode="rich",
    )
    group.callback()(_default(listing))
    group.command("new")(new)
    return group


def _default(listing: Callable[..., None]) -> Callable[..., None]:
    """A group callback that runs ``listing`` (same options) unless a subcommand runs."""

    @functools.wraps(listing)
    def callback(ctx: typer.Context, **options: Any) -> None:
        if ctx.invoked_subcommand is None:
            listing(**options)

    signature = inspect.signature(listing, eval_str=True)
    context = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )
    callback.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[context, *signature.parameters.values()]
    )
    callback.__annotations__ = {
        "ctx": typer.Context,
        **{name: p.annotation for name, p in signature.parameters.items()},
        "return": None,
    }
    del callback.__wrapped__  # typer must read the signature above, not the listing's
    return callback
