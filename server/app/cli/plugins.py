"""``visor plugins``: every plugin with its state, tools and execution metrics."""

from __future__ import annotations

from typing import Any

from app.cli import output
from app.cli.arguments import JsonFlag, ServerOption
from app.cli.client import VisorClient
from app.cli.errors import guarded
from app.settings import Settings


@guarded
def plugins(server: ServerOption = None, json_output: JsonFlag = False) -> None:
    """List plugins: state, tools and metrics (live ones with --server)."""
    listed = _from_server(server) if server else _local()
    if json_output:
        output.print_json_line({"plugins": listed})
    else:
        output.out.print(output.plugins_table(listed))


def _from_server(server: str) -> list[dict[str, Any]]:
    with VisorClient(server) as client:
        return client.plugins()


def _local() -> list[dict[str, Any]]:
    from app.cli.local import local_services

    with local_services(Settings()) as service:
        return [health.model_dump(mode="json") for health in service.list_plugins()]
