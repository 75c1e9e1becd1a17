"""Dashboard session tokens: what the browser's cookie holds instead of the API key.

``vss_<256 random bits>``. The server keeps a row per session (``visor_dashboard_sessions``:
the token's SHA-256 digest, its key and its expiry; :class:`SessionStore`), so a session
ends the moment it is signed out or its key is revoked, not at some expiry written in
the token. A stolen cookie is a session until then, never the key itself. A token is only
ever a credential where it came from the session cookie: pasted as a key (``POST
/ui/session``, ``Authorization``, ``X-API-Key``) it is no key at all.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, insert, select

from app.auth.tables import dashboard_sessions
from app.store.engine import WRITE

_ROW = (dashboard_sessions.c.digest, dashboard_sessions.c.key_id, dashboard_sessions.c.expires_us)

PREFIX = "vss"
_TOKEN_RE = re.compile(r"^vss_[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    return f"{PREFIX}_{secrets.token_urlsafe(32)}"


def is_token(text: str) -> bool:
    """Whether ``text`` is shaped like a session token (an API key is not)."""
    return _TOKEN_RE.match(text) is not None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class SessionRow:
    """One live session, as the key index holds it."""

    digest: str
    key_id: str
    expires_us: int


class SessionStore:
    """Every read and write of ``visor_dashboard_sessions`` (short transactions)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    def open(self, key_id: str, now_us: int, expires_us: int) -> tuple[str, SessionRow]:
        """Store a new session; the token is returned here and only kept by the browser.
        Sessions that expired are deleted on the way (sign-ins are rare, so this is cheap)."""
        token = new_token()
        row = SessionRow(digest(token), key_id, expires_us)
        with self._transaction() as conn:
            expired = dashboard_sessions.c.expires_us <= now_us
            conn.execute(delete(dashboard_sessions).where(expired))
            conn.execute(
                insert(dashboard_sessions),
                {"digest": row.digest, "key_id": key_id, "created_us": now_us,
                 "expires_us": expires_us},
            )  # fmt: skip
        return token, row

    def end(self, token_digest: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                delete(dashboard_sessions).where(dashboard_sessions.c.digest == token_digest)
            )

    def live(self, now_us: int) -> list[SessionRow]:
        """Every session that has not expired."""
        stmt = select(*_ROW).where(dashboard_sessions.c.expires_us > now_us)
        with self._engine.connect() as conn:
            return [SessionRow(*r) for r in conn.execute(stmt)]

    def find(self, token_digest: str) -> SessionRow | None:
        """One session, whatever its expiry (a session opened on another server)."""
        stmt = select(*_ROW).where(dashboard_sessions.c.digest == token_digest)
        with self._engine.connect() as conn:
            found = conn.execute(stmt).first()
        return SessionRow(*found) if found is not None else None
