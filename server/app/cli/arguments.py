"""Parsing what users type: ``PLUGIN.TOOL`` targets and tool arguments.

Shared by ``visor run`` and ``visor jobs submit`` so both accept the same spelling.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from app.cli.errors import CliFailure, ExitCode
from app.errors import ErrorCode
from app.files.sniff import sniff_video_type
from app.services.analysis_service import sniff_mime_type

ArgOption = Annotated[
    list[str] | None,
    typer.Option(
        "--arg",
        "-a",
        metavar="KEY=VALUE",
        help="A tool argument as KEY=VALUE; VALUE is read as JSON when it parses (5, true, "
        '"[1,2]"), else as text. Repeatable.',
    ),
]
ArgsJsonOption = Annotated[
    str | None,
    typer.Option("--args", metavar="JSON", help="Tool arguments as one JSON object."),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        envvar="VISOR_SERVER",
        metavar="URL",
        help="A running Visor server, as a URL or host:port (default: run in this process).",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
QuietFlag = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the id (what a script captures).")
]
TargetArgument = Annotated[
    str,
    typer.Argument(metavar="TARGET", help="PLUGIN.TOOL, or PLUGIN for its default tool."),
]


#: Help is plain Click help, not Rich panels: it wraps at 80 columns whatever the
#: terminal, shows a boolean flag as ``--wait`` (Rich panels print ``--wait <bool>``) and
#: reads the same in a pipe, a log and a terminal.
HELP_MARKUP = None


def command_group(help: str) -> typer.Typer:
    """A ``visor`` sub-command group (``visor jobs``, ``visor keys``, ...)."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=HELP_MARKUP)


def refuse_video(file: Path, head: bytes, target: str) -> None:
    """A tool takes images: point a video to the command that runs a tool on its frames."""
    kind = sniff_video_type(head)
    if kind is not None:
        raise CliFailure.of(
            ErrorCode.INVALID_INPUT,
            f"{file} is a video ({kind}); tools take images: run {target} on its frames "
            f"with: visor video submit {target} {file}",
            file=str(file),
        )


def usage_error(message: str) -> CliFailure:
    return CliFailure.of(ErrorCode.INVALID_INPUT, message, ExitCode.USAGE)


def parse_target(target: str) -> tuple[str, str | None]:
    """``"ocr.read_text"`` → ``("ocr", "read_text")``; ``"ocr"`` → its default tool."""
    plugin, dot, tool = target.partition(".")
    if not plugin or (dot and not tool):
        raise usage_error(f"expected PLUGIN or PLUGIN.TOOL, got {target!r}")
    return plugin, tool or None


def parse_args(pairs: list[str] | None, args_json: str | None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if args_json:
        try:
            parsed = orjson.loads(args_json)
        except orjson.JSONDecodeError as exc:
            raise usage_error(f"--args is not valid JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise usage_error("--args must be a JSON object")
        args.update(parsed)
    for pair in pairs or []:
        key, eq, raw = pair.partition("=")
        if not key or not eq:
            raise usage_error(f"--arg expects KEY=VALUE, got {pair!r}")
        try:
            args[key] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            args[key] = raw
    return args


def image_arguments(file: Path, target: str = "TARGET") -> dict[str, Any]:
    """The ``image``/``mime_type`` arguments for one file (base64, type from its bytes).

    A video is refused here with the command that takes it (``visor video submit``)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CliFailure.of(
            ErrorCode.INVALID_INPUT, f"cannot read {file}: {exc.strerror or exc}", file=str(file)
        ) from exc
    refuse_video(file, data[:64], target)
    return {"image": base64.b64encode(data).decode("ascii"), "mime_type": sniff_mime_type(data)}
