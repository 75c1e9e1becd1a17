"""The key store on the real databases, and the index that serves several servers.

A key created or revoked by another server (or by ``visor keys``) on the same database
takes effect after the index's next refresh; ``last_used`` is written in batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from databases import throwaway_database
from sqlalchemy import Engine

from app.auth.index import KeyIndex, QuotaDefaults, Refusal
from app.auth.keys import KeyCreate
from app.auth.principal import Principal
from app.auth.scopes import Scope
from app.auth.store import KeyStore
from app.errors import ErrorCode, VisorError
from app.store.engine import build_engine
from app.store.migrate import upgrade

DEFAULTS = QuotaDefaults(rate_per_s=10.0, burst=20, max_concurrent=2)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with throwaway_database("visor_test_auth") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    built = build_engine(url)
    upgrade(built)
    with built.begin() as conn:
        conn.exec_driver_sql("DELETE FROM visor_api_keys")
    yield built
    built.dispose()


def test_store_lifecycle_and_unique_active_names(engine: Engine) -> None:
    store = KeyStore(engine)
    first = store.create(KeyCreate(name="ci", scope=Scope.RUN, burst=5))
    with pytest.raises(VisorError) as taken:
        store.create(KeyCreate(name="ci", scope=Scope.READ))
    assert taken.value.code is ErrorCode.CONFLICT
    assert store.revoke("ci").revoked_at is not None
    second = store.create(KeyCreate(name="ci", scope=Scope.READ))  # free again once revoked
    with pytest.raises(VisorError) as gone:
        store.revoke("nobody")
    assert gone.value.code is ErrorCode.NOT_FOUND

    rows = {row.id: row for row in store.load()}
    assert set(rows) == {first.key.id, second.key.id}
    assert rows[first.key.id].burst == 5 and rows[first.key.id].revoked_us is not None
    listed = store.list_keys()
    assert [k.name for k in listed] == ["ci", "ci"]
    for key in listed:
        assert first.secret not in key.model_dump_json()


def test_another_servers_changes_arrive_at_the_next_refresh(engine: Engine) -> None:
    ours = KeyIndex(KeyStore(engine), DEFAULTS)
    theirs = KeyStore(build_engine(str(engine.url.render_as_string(hide_password=False))))
    ours.start(refresh_s=0.05)
    try:
        assert not ours.any_keys
        created = theirs.create(KeyCreate(name="late", scope=Scope.READ))
        _wait(lambda: isinstance(ours.authenticate(created.secret), Principal), "the new key")
        assert ours.any_keys
        principal = ours.authenticate(created.secret)
        assert isinstance(principal, Principal) and principal.requests.burst == 20
        _wait(lambda: theirs.list_keys()[0].last_used_at is not None, "last_used to be written")
        theirs.revoke("late")
        _wait(lambda: ours.authenticate(created.secret) is Refusal.REVOKED, "the revocation")
    finally:
        ours.stop()
        theirs.engine.dispose()


def _wait(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 20
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)
