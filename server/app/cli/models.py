"""``visor models``: register, list and remove models of the model repository.

With ``--server`` they go to a running server (which checks, stores and serves at once);
without it they work on the model directory of the local settings (``VISOR_MODEL_DIR`` or
``VISOR_DATA_DIR``/models), and a server picks the change up at its next start or plugin
reload. Either way the model is checked (loaded and test-run in a capped process) first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli import output
from app.cli.arguments import JsonFlag, ServerOption, command_group
from app.cli.client import VisorClient
from app.cli.errors import CliFailure, guarded

models = command_group("Register, list and remove ONNX models.")


def _local_repository() -> Any:
    from app.models.repository import ModelRepository
    from app.settings import Settings

    return ModelRepository.from_settings(Settings())


def _failure(exc: Any) -> CliFailure:
    return CliFailure.of(exc.code, exc.message, **exc.details)


@models.command("add")
@guarded
def add(
    name: Annotated[str, typer.Argument(help="The model's name (its plugin's name).")],
    path: Annotated[Path, typer.Argument(help="The ONNX file.", exists=True, dir_okay=False)],
    manifest: Annotated[
        Path, typer.Option("--manifest", "-m", help="Its manifest (JSON or YAML).", exists=True)
    ],
    default: Annotated[
        bool, typer.Option("--default/--no-default", help="Make it the default version.")
    ] = True,
    server: ServerOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Check and register a model (or a new version of one)."""
    text = manifest.read_bytes()
    if server:
        with VisorClient(server) as client:
            answer = client.add_model(name, path, text, make_default=default)
        version = answer["version"]
    else:
        from app.errors import VisorError

        try:
            version, check, _ = _local_repository().register(name, path, text, make_default=default)
        except VisorError as exc:
            raise _failure(exc) from None
        answer = {"name": name, "version": version, "check": check}
    if json_output:
        output.print_json_line(answer)
    else:
        output.print_id(f"{name}@{version}", f"registered {name}@{version}")


@models.command("list")
@guarded
def list_models(server: ServerOption = None, json_output: JsonFlag = False) -> None:
    """Every model with its versions (the default marked)."""
    if server:
        with VisorClient(server) as client:
            listed = client.models()
    else:
        repository = _local_repository()
        listed = [repository.info(n).model_dump(mode="json") for n in repository.names()]
    if json_output:
        output.print_json_line({"models": listed})
        return
    output.out.print(output.models_table(listed))


@models.command("remove")
@guarded
def remove(
    ref: Annotated[str, typer.Argument(help="NAME (every version) or NAME@VERSION.")],
    server: ServerOption = None,
) -> None:
    """Remove a model or one of its versions."""
    if server:
        with VisorClient(server) as client:
            client.remove_model(ref)
    else:
        from app.errors import VisorError
        from app.models.repository import parse_ref

        try:
            name, version = parse_ref(ref)
            _local_repository().remove(name, version)
        except VisorError as exc:
            raise _failure(exc) from None
    output.print_message(f"removed {ref}")
