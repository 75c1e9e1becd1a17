"""Keys: the format, the CLI and REST lifecycles, and the secret never leaking anywhere."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from auth_helpers import bearer
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from app.auth import keys
from app.cli.main import cli


def test_key_format_has_a_public_id_and_256_random_bits() -> None:
    key_id, key = keys.generate()
    assert key.startswith(f"vsr_{key_id}_") and len(key_id) == 10
    assert keys.key_id_of(key) == key_id
    assert keys.matches(key, keys.digest(key))
    assert not keys.matches(key[:-1] + ("A" if key[-1] != "A" else "B"), keys.digest(key))
    assert keys.key_id_of("vsr_nothex0000_" + "a" * 43) is None
    assert keys.key_id_of(f"Bearer {key}") is None
    assert len({keys.generate()[1] for _ in range(100)}) == 100


@pytest.fixture
def visor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("VISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_cli_create_list_revoke(visor: Any, tmp_path: Path) -> None:
    created = visor("keys", "create", "ci", "--scope", "run", "--expires-days", "30")
    assert created.exit_code == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert keys.key_id_of(secret) is not None
    assert created.stdout.strip() == secret  # alone on the last (and only) stdout line
    assert "shown only now" in created.stderr

    again = visor("keys", "create", "ci", "--scope", "read")
    assert again.exit_code == 1 and "already exists" in again.stderr

    listed = visor("keys", "list", "--json")
    assert listed.exit_code == 0
    assert '"name":"ci"' in listed.stdout and '"scope":"run"' in listed.stdout
    assert '"expires_at":"2' in listed.stdout
    assert secret not in listed.stdout and secret.split("_", 2)[2] not in listed.stdout
    table = visor("keys", "list")
    assert "ci" in table.stdout and "run" in table.stdout and secret not in table.stdout

    revoked = visor("keys", "revoke", "ci")
    assert revoked.exit_code == 0 and "revoked key ci" in revoked.stderr
    assert visor("keys", "revoke", "ci").exit_code == 1  # no active key of that name now
    # The name is free again once revoked (rotation: create the new key, then revoke).
    assert visor("keys", "create", "ci", "--scope", "read").exit_code == 0

    bad = visor("keys", "create", "bad name!", "--scope", "read")
    assert bad.exit_code == 2 and "name" in bad.stderr


def test_rest_lifecycle_and_the_secret_is_shown_once_only(
    make_client: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    client: TestClient = make_client([])
    # Open server (loopback, no keys): the first admin key can be made over HTTP.
    first = client.post("/v1/keys", json={"name": "root", "scope": "admin"})
    assert first.status_code == 201, first.text
    admin = first.json()["secret"]
    assert first.json()["key"]["scope"] == "admin"
    # Now keys exist: authentication is on at once.
    assert client.get("/v1/keys").status_code == 401
    made = client.post("/v1/keys", json={"name": "agent", "scope": "read"}, headers=bearer(admin))
    assert made.status_code == 201
    reader = made.json()["secret"]
    assert client.get("/v1/plugins", headers=bearer(reader)).status_code == 200
    assert (
        client.post(
            "/v1/keys", json={"name": "x", "scope": "admin"}, headers=bearer(reader)
        ).status_code
        == 403
    )

    responses = [
        client.get("/v1/keys", headers=bearer(admin)),
        client.get("/v1/plugins", headers=bearer(reader)),
        client.get("/metrics", headers=bearer(admin)),
        client.get("/openapi.json", headers=bearer(admin)),
        client.get("/v1/jobs", headers=bearer(reader)),
        client.get("/v1/keys", headers=bearer(reader)),
        client.get("/v1/plugins", headers=bearer(reader[:-1] + "x")),
    ]
    listed = responses[0].json()["keys"]
    assert {k["name"] for k in listed} == {"root", "agent"}
    assert all(set(k) >= {"id", "name", "scope", "created_at", "last_used_at"} for k in listed)
    assert next(k for k in listed if k["name"] == "agent")["last_used_at"] is not None

    assert client.delete("/v1/keys/agent", headers=bearer(admin)).status_code == 200
    assert client.get("/v1/plugins", headers=bearer(reader)).status_code == 401
    assert client.delete("/v1/keys/agent", headers=bearer(admin)).status_code == 404
    client.app.state.auth.index.flush()  # type: ignore[attr-defined]

    for secret in (admin, reader):
        hidden = secret.split("_", 2)[2]  # the random part: the id is public
        for response in responses:
            assert hidden not in response.text
            assert hidden not in str(response.headers)
        assert hidden not in caplog.text
        for path in (tmp_path / "data").rglob("*"):
            if path.is_file():
                assert hidden.encode() not in path.read_bytes(), path
        engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'visor.sqlite3'}")
        with engine.connect() as conn:
            dump = "\n".join(conn.connection.dbapi_connection.iterdump())  # type: ignore[union-attr]
            digests = conn.execute(text("SELECT digest FROM visor_api_keys")).scalars().all()
        engine.dispose()
        assert hidden not in dump and keys.digest(secret) in digests


@pytest.mark.parametrize("days", [1e16, 36_501])
def test_an_expiry_past_a_century_is_refused_on_rest(make_client: Any, days: float) -> None:
    client: TestClient = make_client([])
    response = client.post("/v1/keys", json={"name": "far", "scope": "read", "expires_days": days})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"]["code"] == "invalid_input"
    assert "expires_days" in error["message"]
    assert client.get("/v1/keys").json()["keys"] == []  # nothing was stored


def test_an_expiry_past_a_century_is_refused_by_the_cli(visor: Any) -> None:
    made = visor("keys", "create", "far", "--scope", "read", "--expires-days", "1e16")
    assert made.exit_code == 2, made.stderr
    assert "invalid_input" in made.stderr and "expires_days" in made.stderr
    assert "InternalError" not in made.stderr and "Traceback" not in made.stderr
