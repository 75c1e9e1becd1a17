"""Keys that do not lock you out (issue 29 item 1): the first ``visor keys create`` turns
keys on for a running loopback server; every 401 says why and how to get a key; revoking
keeps keys on; ``visor keys delete --all`` is the documented way back to an open server;
``visor doctor`` says which it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from helpers import plugin_sources
from typer.testing import CliRunner

from app.cli import doctor
from app.cli.main import cli
from app.settings import Settings


@pytest.fixture
def visor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("VISOR_DATA_DIR", str(tmp_path / "data"))  # the app's data dir too
    monkeypatch.delenv("VISOR_API_KEY", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def _keys_check(visor: Any) -> dict[str, Any]:
    """``visor doctor``'s api keys check, on the settings the CLI reads."""
    found = doctor._api_keys(Settings())
    return {"status": found.status.value, "detail": found.detail}


def test_keys_on_then_off_again_with_every_step_explained(make_client: Any, visor: Any) -> None:
    client: TestClient = make_client(plugin_sources("echo"), force_in_process=True)
    index = client.app.state.auth.index  # type: ignore[attr-defined]
    assert client.get("/v1/plugins").status_code == 200
    assert _keys_check(visor)["detail"].startswith("off: no keys")

    created = visor("keys", "create", "ci", "--scope", "run")
    assert created.exit_code == 0, created.stderr
    index.reload()  # what the server's refresh does within VISOR_AUTH_REFRESH_S

    refused = client.get("/v1/plugins")
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert "VISOR_AUTH=auto" in error["message"]  # why
    assert "Authorization: Bearer KEY" in error["message"]  # how to send one
    assert "VISOR_API_KEY" in error["message"]
    assert "visor keys create NAME --scope run" in error["message"]  # how to get one
    assert "visor keys delete --all" in error["message"]  # the way back
    assert error["details"]["reason"] == "missing_key" and error["details"]["auth"] == "auto"
    wrong = client.get("/v1/plugins", headers={"Authorization": "Bearer vsr_nope"})
    assert wrong.status_code == 401
    assert "visor keys create" in wrong.json()["error"]["message"]
    assert wrong.json()["error"]["details"]["reason"] == "invalid_key"

    check = _keys_check(visor)
    assert (
        check["status"] == "warn" and "on (VISOR_AUTH=auto; 1 active, 0 revoked)" in check["detail"]
    )
    assert "export VISOR_API_KEY" in check["detail"]

    revoked = visor("keys", "revoke", "ci")
    assert revoked.exit_code == 0 and "visor keys delete --all" in revoked.stderr
    index.reload()
    assert client.get("/v1/plugins").status_code == 401  # revoking does not open the server

    assert visor("keys", "delete").exit_code == 2  # a name or --all
    assert visor("keys", "delete", "nobody").exit_code == 1
    deleted = visor("keys", "delete", "--all")
    assert deleted.exit_code == 0, deleted.stderr
    assert "deleted key ci" in deleted.stderr and "no keys left" in deleted.stderr
    index.reload()
    assert client.get("/v1/plugins").status_code == 200  # open again, on loopback
    assert _keys_check(visor)["detail"].startswith("off: no keys")
    listed = visor("keys", "list", "--json")
    assert listed.exit_code == 0 and listed.stdout.strip() == ""


def test_deleting_one_name_keeps_the_others(visor: Any) -> None:
    for name in ("a", "b"):
        assert visor("keys", "create", name, "--scope", "read").exit_code == 0
    assert visor("keys", "revoke", "a").exit_code == 0
    assert visor("keys", "create", "a", "--scope", "read").exit_code == 0  # a namesake
    deleted = visor("keys", "delete", "a")
    assert deleted.exit_code == 0 and deleted.stderr.count("deleted key a") == 2
    assert "1 key(s) left" in deleted.stderr
    names = [orjson.loads(line)["name"] for line in visor("keys", "list", "--json").stdout.split()]
    assert names == ["b"]
