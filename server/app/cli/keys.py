"""``visor keys``: create, list and revoke API keys, directly on the server's database.

They read the same settings as ``visor serve`` (``VISOR_DATA_DIR``, ``VISOR_DATABASE_URL``);
a running server sees the change within ``VISOR_AUTH_REFRESH_S`` seconds. ``create``
prints the secret once, alone on the last line of stdout, so scripts can take it with
``tail -n 1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.cli import output
from app.cli.arguments import JsonFlag, command_group
from app.cli.errors import CliFailure, ExitCode, guarded
from app.errors import ErrorCode, VisorError

if TYPE_CHECKING:  # SQLAlchemy loads only when a keys command runs: other commands start fast
    from app.auth.store import KeyStore

keys = command_group("Create, list and revoke API keys.")

DataDirOption = Annotated[
    Path | None, typer.Option(help="The server's data directory (default: VISOR_DATA_DIR).")
]


@contextmanager
def _store(data_dir: Path | None) -> Iterator[KeyStore]:
    from app.auth.store import KeyStore
    from app.settings import Settings
    from app.store.engine import build_engine
    from app.store.migrate import upgrade

    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings.resolved_database_url())
    try:
        upgrade(engine)
        yield KeyStore(engine)
    except VisorError as exc:
        raise CliFailure.of(exc.code, exc.message) from None
    finally:
        engine.dispose()


@keys.command("create")
@guarded
def create(
    name: Annotated[str, typer.Argument(help="A name for the key (unique among active keys).")],
    scope: Annotated[Scope, typer.Option(help="read, run or admin.")],
    expires_days: Annotated[
        float | None, typer.Option(min=0.0, help="Expire after this many days.")
    ] = None,
    rate_per_s: Annotated[
        float | None, typer.Option(help="Requests/s (default: VISOR_AUTH_RATE_PER_S).")
    ] = None,
    burst: Annotated[int | None, typer.Option(help="Burst (default: VISOR_AUTH_BURST).")] = None,
    max_concurrent: Annotated[
        int | None, typer.Option(help="Concurrent tool calls (VISOR_AUTH_MAX_CONCURRENT_CALLS).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a key and print its secret: once, alone on the last line."""
    try:
        request = KeyCreate(
            name=name,
            scope=scope,
            expires_days=expires_days,
            rate_per_s=rate_per_s,
            burst=burst,
            max_concurrent=max_concurrent,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        raise CliFailure.of(
            ErrorCode.INVALID_INPUT, f"{field}: {problem['msg']}", ExitCode.USAGE
        ) from None
    with _store(data_dir) as store:
        created = store.create(request)
    expiry = f", expires {created.key.expires_at}" if created.key.expires_at else ""
    output.err.print(
        f"created key [bold]{escape(created.key.name)}[/] (id {created.key.id}, "
        f"scope {created.key.scope.value}{expiry}); the secret below is shown only now:"
    )
    print(created.secret, flush=True)


@keys.command("list")
@guarded
def list_keys(data_dir: DataDirOption = None, json_output: JsonFlag = False) -> None:
    """Every key: name, id, scope, created, last used, expiry (never the secret)."""
    with _store(data_dir) as store:
        found = store.list_keys()
    if json_output:
        for key in found:
            output.print_json_line(key.model_dump(mode="json"))
        return
    output.out.print(output.keys_table(key.model_dump(mode="json") for key in found))


@keys.command("revoke")
@guarded
def revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke the active key with this name (servers stop accepting it within seconds).

    Revoked keys still count: keys stay on until `visor keys delete` removes them all."""
    with _store(data_dir) as store:
        revoked = store.revoke(name)
    output.err.print(
        f"revoked key [bold]{escape(revoked.name)}[/] (id {revoked.id}); keys stay on "
        "while any key exists, revoked or not: 'visor keys delete --all' turns them off"
    )


@keys.command("delete")
@guarded
def delete(
    name: Annotated[
        str | None, typer.Argument(help="The key's name (its revoked namesakes go too).")
    ] = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Delete every key.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Forget keys for good. With none left, VISOR_AUTH=auto turns keys off again: a
    loopback server answers without a key (other machines are still refused)."""
    if (name is None) == (not all_keys):
        raise CliFailure.of(
            ErrorCode.INVALID_INPUT, "name a key, or pass --all (not both)", ExitCode.USAGE
        )
    with _store(data_dir) as store:
        deleted = store.delete(None if all_keys else name)
        left = store.count()
    for key in deleted:
        output.err.print(f"deleted key [bold]{escape(key.name)}[/] (id {key.id})")
    if left:
        output.err.print(f"{left} key(s) left: requests still need a key")
    else:
        output.err.print(
            "no keys left: with VISOR_AUTH=auto a server on 127.0.0.1 answers without a key "
            "(within VISOR_AUTH_REFRESH_S seconds); other machines are refused"
        )
