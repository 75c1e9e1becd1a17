"""KeyStore: every read and write of ``visor_api_keys`` (short transactions, one engine).

The request path never calls it: the server reads all keys into a
:class:`~app.auth.index.KeyIndex` at start and after every change, and writes
``last_used`` in batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from app.auth import keys
from app.auth.keys import ApiKey, KeyCreate, KeyCreated
from app.auth.scopes import Scope
from app.auth.tables import api_keys, dashboard_sessions
from app.errors import ErrorCode, VisorError
from app.store.clock import iso_from_micros, now_us
from app.store.engine import WRITE

_DAY_US = 86_400 * 1_000_000
_TOUCH = (
    update(api_keys)
    .where(api_keys.c.id == bindparam("b_id"))
    .values(last_used_us=func.coalesce(bindparam("b_used"), api_keys.c.last_used_us))
)


@dataclass(frozen=True)
class KeyRow:
    """What the index needs of one key (the digest, never the secret)."""

    id: str
    name: str
    scope: Scope
    digest: str
    expires_us: int | None
    revoked_us: int | None
    rate_per_s: float | None
    burst: int | None
    max_concurrent: int | None


def _public(row: RowMapping | Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        scope=Scope(row["scope"]),
        created_at=iso_from_micros(row["created_us"]) or "",
        expires_at=iso_from_micros(row["expires_us"]),
        revoked_at=iso_from_micros(row["revoked_us"]),
        last_used_at=iso_from_micros(row["last_used_us"]),
        rate_per_s=row["rate_per_s"],
        burst=row["burst"],
        max_concurrent=row["max_concurrent"],
    )


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    def create(self, request: KeyCreate) -> KeyCreated:
        """Store a new key; the secret is returned here and nowhere else, ever."""
        key_id, secret = keys.generate()
        stamp = now_us()
        expires = (
            stamp + int(request.expires_days * _DAY_US)
            if request.expires_days is not None
            else None
        )
        row = {
            "id": key_id,
            "name": request.name,
            "scope": request.scope.value,
            "digest": keys.digest(secret),
            "created_us": stamp,
            "expires_us": expires,
            "revoked_us": None,
            "last_used_us": None,
            "rate_per_s": request.rate_per_s,
            "burst": request.burst,
            "max_concurrent": request.max_concurrent,
        }
        try:
            with self._transaction() as conn:
                conn.execute(insert(api_keys), row)
        except IntegrityError as exc:
            raise VisorError(
                f"an active key named {request.name!r} already exists; revoke it first",
                code=ErrorCode.CONFLICT,
            ) from exc
        return KeyCreated(key=_public(row), secret=secret)

    def revoke(self, name: str) -> ApiKey:
        """Revoke the active key called ``name`` (its row stays, marked revoked) and end its
        dashboard sessions."""
        stmt = (
            update(api_keys)
            .where(api_keys.c.name == name, api_keys.c.revoked_us.is_(None))
            .values(revoked_us=now_us())
            .returning(*api_keys.c)
        )
        with self._transaction() as conn:
            row = conn.execute(stmt).mappings().first()
            if row is not None:
                conn.execute(
                    delete(dashboard_sessions).where(dashboard_sessions.c.key_id == row["id"])
                )
        if row is None:
            raise VisorError(f"no active key named {name!r}", code=ErrorCode.NOT_FOUND)
        return _public(row)

    def delete(self, name: str | None) -> list[ApiKey]:
        """Delete every key called ``name`` (active and revoked; every key for ``None``)
        and their dashboard sessions; the deleted keys, oldest first.

        Unlike revoking, this forgets the key: a name nobody knows answers "unknown", and
        once no key is left ``VISOR_AUTH=auto`` turns keys off again (docs/security.md).
        """
        chosen = select(api_keys).order_by(api_keys.c.created_us, api_keys.c.id)
        if name is not None:
            chosen = chosen.where(api_keys.c.name == name)
        with self._transaction() as conn:
            rows = conn.execute(chosen).mappings().all()
            ids = [row["id"] for row in rows]
            if ids:
                conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.key_id.in_(ids)))
                conn.execute(delete(api_keys).where(api_keys.c.id.in_(ids)))
        if not rows and name is not None:
            raise VisorError(f"no key named {name!r}", code=ErrorCode.NOT_FOUND)
        return [_public(row) for row in rows]

    def count(self) -> int:
        """How many keys exist, revoked ones included (they keep ``auto`` auth on)."""
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(api_keys)).scalar() or 0)

    def list_keys(self) -> list[ApiKey]:
        stmt = select(api_keys).order_by(api_keys.c.created_us, api_keys.c.id)
        with self._engine.connect() as conn:
            return [_public(r) for r in conn.execute(stmt).mappings()]

    def load(self) -> list[KeyRow]:
        """Every key (revoked and expired too: they answer 'revoked'/'expired', not 'unknown')."""
        columns = [c for c in api_keys.c if c.name not in ("created_us", "last_used_us")]
        with self._engine.connect() as conn:
            rows = conn.execute(select(*columns)).mappings().all()
        return [KeyRow(**{**dict(r), "scope": Scope(r["scope"])}) for r in rows]

    def touch(self, last_used: Mapping[str, int]) -> None:
        """Write a batch of ``last_used`` times (one statement for the batch)."""
        if not last_used:
            return
        params = [{"b_id": key_id, "b_used": used} for key_id, used in last_used.items()]
        with self._transaction() as conn:
            conn.execute(_TOUCH, params)
