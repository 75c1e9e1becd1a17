"""``visor pipelines list|show|save|delete|run``: saved pipelines, here or on a server.

Like ``visor run``: in-process by default — the same database as ``visor serve``
(``VISOR_DATA_DIR``/``VISOR_DATABASE_URL``) and the same services, so a pipeline run from
the shell is the same chain of governed tool calls — or against ``--server``. ``run``
prints one result per image in ``visor run``'s formats and exit codes; ``visor run
pipeline.NAME`` is the same command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from app.cli import output
from app.cli.arguments import JsonFlag, ServerOption, command_group, image_arguments
from app.cli.client import VisorClient
from app.cli.errors import CliFailure, ExitCode, guarded
from app.cli.run import Call, Outcome, run_batch
from app.errors import VisorError, envelope_from_exception, public_error
from app.pipelines.names import PIPELINE_JOB_PLUGIN
from app.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy loads only when a pipeline command runs
    from app.pipelines.service import PipelineService
    from app.pipelines.store import PipelineStore

pipelines = command_group("Save, list, show, delete and run pipelines.")

NameArgument = Annotated[str, typer.Argument(help="The pipeline's name.")]


@pipelines.command("list")
@guarded
def list_pipelines(server: ServerOption = None, json_output: JsonFlag = False) -> None:
    """Saved pipelines: name, steps, description."""
    listed = _answer(
        server,
        lambda client: client.pipelines(),
        lambda store: [p.model_dump(mode="json") for p in store.list()],
    )
    if json_output:
        output.print_json_line({"pipelines": listed})
    else:
        output.out.print(output.pipelines_table(listed))


@pipelines.command("show")
@guarded
def show(name: NameArgument, server: ServerOption = None, json_output: JsonFlag = False) -> None:
    """A saved pipeline and its spec."""
    saved = _answer(
        server,
        lambda client: client.pipeline(name),
        lambda store: store.get(name).model_dump(mode="json"),
    )
    if json_output:
        output.print_json_line(saved)
        return
    output.out.print(f"[bold]{escape(name)}[/] [dim](updated {saved.get('updated_at')})[/]")
    output.out.print_json(data=saved["spec"])


@pipelines.command("save")
@guarded
def save(
    file: Annotated[
        Path, typer.Argument(help="The spec, JSON or YAML.", exists=True, dir_okay=False)
    ],
    server: ServerOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Save (create or replace) a pipeline, checked against the installed tools."""
    text = file.read_bytes()
    if server:
        yaml = file.suffix.lower() in (".yaml", ".yml")
        with VisorClient(server) as client:
            saved = client.save_pipeline(text, "application/yaml" if yaml else "application/json")
    else:
        from app.pipelines.spec import parse_spec

        with _local_pipelines() as service, _envelopes():
            record, _ = service.save(parse_spec(text))
            saved = record.model_dump(mode="json")
    if json_output:
        output.print_json_line(saved)
    else:
        steps = len(saved["spec"]["steps"])
        output.print_id(
            saved["name"], f"saved pipeline [bold]{escape(saved['name'])}[/] ({steps} steps)"
        )


@pipelines.command("delete")
@guarded
def delete(name: NameArgument, server: ServerOption = None, json_output: JsonFlag = False) -> None:
    """Delete a saved pipeline."""
    deleted = _answer(
        server,
        lambda client: client.delete_pipeline(name),
        lambda store: store.delete(name).model_dump(mode="json"),
    )
    if json_output:
        output.print_json_line(deleted)
    else:
        output.print_message(f"deleted pipeline [bold]{escape(name)}[/]")


@pipelines.command("run")
@guarded
def run(
    name: NameArgument,
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Image files; none runs it once.", exists=True, dir_okay=False),
    ] = None,
    server: ServerOption = None,
    json_output: JsonFlag = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, max=64, help="Files run at once.")
    ] = 1,
) -> None:
    """Run a saved pipeline on each file (the same as: visor run pipeline.NAME)."""
    inputs: list[Path | None] = list(files) if files else [None]
    with pipeline_caller(server, name) as call:
        run_batch(call, inputs, concurrency, json_output)


# -- running ---------------------------------------------------------------------------------


@contextmanager
def pipeline_caller(server: str | None, name: str) -> Iterator[Call]:
    """A call per file for pipeline ``name``; a pipeline that does not exist fails at once."""
    if server:
        with VisorClient(server) as client:
            client.pipeline(name)  # not_found before any file is read
            yield _remote_call(client, name)
        return
    with _local_pipelines() as service, _envelopes():
        saved = service.store.get(name)
        for step in saved.spec.steps:  # only the plugins it uses start workers
            service.plugins.start(step.plugin_name)
        yield _local_call(service, name)


def _local_call(service: PipelineService, name: str) -> Call:
    from app.pipelines.service import PipelineInput
    from app.plugins.runtime.executor import call_context

    def call(file: Path | None) -> Outcome:
        source = str(file) if file else None
        try:
            given = PipelineInput.model_validate(image_arguments(file) if file else {})
        except CliFailure as exc:
            return Outcome(source, PIPELINE_JOB_PLUGIN, name, error=exc.error)
        with call_context():
            result, error = service.run_saved(name, given)
        if error:
            return Outcome(source, PIPELINE_JOB_PLUGIN, name, error=public_error(error)["error"])
        return Outcome(
            source, PIPELINE_JOB_PLUGIN, name, result=result, elapsed_ms=result["elapsed_ms"]
        )

    return call


def _remote_call(client: VisorClient, name: str) -> Call:
    def call(file: Path | None) -> Outcome:
        source = str(file) if file else None
        try:
            answer = client.run_pipeline(name, image_arguments(file) if file else {})
        except CliFailure as exc:
            if exc.exit_code is ExitCode.UNREACHABLE:
                raise
            return Outcome(source, PIPELINE_JOB_PLUGIN, name, error=exc.error)
        return Outcome(
            source, PIPELINE_JOB_PLUGIN, name, result=answer, elapsed_ms=answer.get("elapsed_ms")
        )

    return call


# -- local services --------------------------------------------------------------------------


def _answer(
    server: str | None,
    remote: Callable[[VisorClient], Any],
    local: Callable[[PipelineStore], Any],
) -> Any:
    """A command's answer as JSON data: asked of ``--server``, or of the local store (whose
    errors become CLI failures, as the server's become envelopes)."""
    if server:
        with VisorClient(server) as client:
            return remote(client)
    with _local_store() as store, _envelopes():
        return local(store)


@contextmanager
def _local_store() -> Iterator[PipelineStore]:
    """The pipelines in the database ``visor serve`` uses (migrated, as the server does)."""
    from app.pipelines.store import PipelineStore
    from app.store.engine import build_engine
    from app.store.migrate import upgrade

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings.resolved_database_url())
    try:
        upgrade(engine)
        yield PipelineStore(engine)
    finally:
        engine.dispose()


@contextmanager
def _local_pipelines() -> Iterator[PipelineService]:
    """PipelineService over the local store and in-process plugins (loaded, not started)."""
    from app.cli.local import local_services
    from app.pipelines.budget import PipelineLimits
    from app.pipelines.service import PipelineService

    settings = Settings()
    with _local_store() as store, local_services(settings) as plugins:
        yield PipelineService(plugins, store, PipelineLimits.from_settings(settings))


@contextmanager
def _envelopes() -> Iterator[None]:
    """A service's :class:`VisorError` (unknown pipeline, invalid spec) as a CLI failure."""
    try:
        yield
    except VisorError as exc:
        raise CliFailure(public_error(envelope_from_exception(exc))["error"]) from None
