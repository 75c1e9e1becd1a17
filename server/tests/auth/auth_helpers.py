"""Auth test helpers: one key of each scope, plus a revoked and an expired one."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.auth.service import AuthService
from app.auth.tables import api_keys


@dataclass
class Keys:
    read: str
    run: str
    admin: str
    run2: str
    revoked: str
    expired: str
    ids: dict[str, str]


def create_keys(auth: AuthService, **quotas: Any) -> Keys:
    """One key of each scope, a second run key, a revoked key and an expired key."""
    secrets: dict[str, str] = {}
    ids: dict[str, str] = {}
    for name, scope in [
        ("read", Scope.READ),
        ("run", Scope.RUN),
        ("admin", Scope.ADMIN),
        ("run2", Scope.RUN),
        ("revoked", Scope.ADMIN),
        ("expired", Scope.ADMIN),
    ]:
        created = auth.create_key(KeyCreate(name=name, scope=scope, **quotas))
        secrets[name], ids[name] = created.secret, created.key.id
    auth.revoke_key("revoked")
    # Expire one key in the past (a key cannot be created already expired).
    with auth.index.store.engine.begin() as conn:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == ids["expired"])
            .values(expires_us=int((time.time() - 60) * 1e6))
        )
    auth.index.reload()
    return Keys(ids=ids, **secrets)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
