"""KeyIndex: the in-memory view of every key — and every live dashboard session — that the
request path authenticates against.

The database is read at start, after each change made through this server, and every
``refresh_s`` (for keys created or revoked, and sessions opened or ended, by another server
or by ``visor keys``). A request costs one dict lookup and one SHA-256, never a query —
except a session token this server has not seen yet (opened on another server a moment
ago), which costs one lookup by primary key. ``last_used`` times collect in a dict and are
written in one batch per refresh; a crash loses at most that interval.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from app.auth import keys, sessions
from app.auth.credentials import Credential
from app.auth.principal import Principal
from app.auth.sessions import SessionRow, SessionStore
from app.auth.shared_quotas import MemoryQuotas, QuotaBackend
from app.auth.store import KeyRow, KeyStore
from app.store.clock import now_us

log = logging.getLogger("visor.auth")


class Refusal(StrEnum):
    """Why a presented key does not authenticate (the message says it, the secret never)."""

    MALFORMED = "the key is not a Visor API key"
    UNKNOWN = "unknown API key"
    REVOKED = "this API key was revoked"
    EXPIRED = "this API key has expired"
    SESSION_ENDED = "this dashboard session has ended: sign in again"


@dataclass(frozen=True)
class QuotaDefaults:
    rate_per_s: float
    burst: int
    max_concurrent: int


@dataclass(frozen=True)
class _Entry:
    row: KeyRow
    principal: Principal


class KeyIndex:
    def __init__(
        self,
        store: KeyStore,
        defaults: QuotaDefaults,
        sessions: SessionStore | None = None,
        *,
        quotas: QuotaBackend | None = None,
    ) -> None:
        self._store = store
        self.quotas: QuotaBackend = quotas if quotas is not None else MemoryQuotas()
        self._sessions_store = sessions or SessionStore(store.engine)
        self._defaults = defaults
        self._entries: dict[str, _Entry] = {}
        self._sessions: dict[str, SessionRow] = {}  # token digest → session
        self._used: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reload_lock = threading.Lock()

    @property
    def store(self) -> KeyStore:
        return self._store

    @property
    def any_keys(self) -> bool:
        """True once any key was ever created (revoked ones count: revoking every key must
        not silently open the server)."""
        return bool(self._entries)

    # -- the request path -------------------------------------------------------------------

    def check(self, credential: Credential) -> Principal | Refusal:
        """A credential to its principal: an API key as :meth:`authenticate`, a session
        token as :meth:`authenticate_session`."""
        if credential.session:
            return self.authenticate_session(credential.secret)
        return self.authenticate(credential.secret)

    def authenticate(self, key: str) -> Principal | Refusal:
        """An API key to its principal. A session token is no key (:mod:`.sessions`)."""
        key_id = keys.key_id_of(key)
        if key_id is None:
            return Refusal.MALFORMED
        entry = self._entries.get(key_id)
        if entry is None or not keys.matches(key, entry.row.digest):
            return Refusal.UNKNOWN
        return self._admit(entry)

    def authenticate_session(self, token: str) -> Principal | Refusal:
        """A dashboard session token to its key's principal: it answers as its key would
        (revoked, expired), and also ends when signed out or at its own expiry."""
        if not sessions.is_token(token):
            return Refusal.SESSION_ENDED
        session = self._sessions.get(sessions.digest(token))
        if session is None or session.expires_us <= time.time() * 1e6:
            return Refusal.SESSION_ENDED
        entry = self._entries.get(session.key_id)
        if entry is None:
            return Refusal.SESSION_ENDED
        return self._admit(entry)

    def principal_of(self, key_id: str) -> Principal | Refusal:
        """The principal of a key by its public id, for work a key started that outlives
        its request (a server-side source): answers as the key would now (revoked,
        expired), without the secret."""
        entry = self._entries.get(key_id)
        if entry is None:
            return Refusal.UNKNOWN
        return self._admit(entry)

    def knows_session(self, token: str) -> bool:
        return sessions.digest(token) in self._sessions

    def _admit(self, entry: _Entry) -> Principal | Refusal:
        row = entry.row
        if row.revoked_us is not None:
            return Refusal.REVOKED
        if row.expires_us is not None and row.expires_us <= time.time() * 1e6:
            return Refusal.EXPIRED
        self._used[row.id] = now_us()
        return entry.principal

    # -- sessions (blocking: call from a worker thread) -------------------------------------

    def open_session(self, key: str, ttl_s: float) -> tuple[Principal, str] | Refusal:
        """Check a typed API key and open a session for it (the dashboard's sign-in)."""
        found = self.authenticate(key)
        if isinstance(found, Refusal):
            return found
        entry = self._entries[found.key_id]
        stamp = now_us()
        expires_us = stamp + int(ttl_s * 1e6)
        if entry.row.expires_us is not None:  # a session never outlives its key
            expires_us = min(expires_us, entry.row.expires_us)
        with self._reload_lock:
            token, row = self._sessions_store.open(found.key_id, stamp, expires_us)
            self._sessions[row.digest] = row
        return found, token

    def end_session(self, token: str) -> None:
        """Sign out: the session is gone here at once, on other servers at their refresh."""
        if not sessions.is_token(token):
            return
        token_digest = sessions.digest(token)
        with self._reload_lock:  # a reload in progress cannot bring it back
            self._sessions_store.end(token_digest)
            self._sessions.pop(token_digest, None)

    def load_session(self, token: str) -> None:
        """Look up a session this server has not seen (opened on another server since the
        last refresh)."""
        if not sessions.is_token(token):
            return
        with self._reload_lock:
            found = self._sessions_store.find(sessions.digest(token))
            if found is not None:
                self._sessions[found.digest] = found

    def states(self, now_s: float) -> dict[str, int]:
        """How many keys are active, revoked and expired (for metrics)."""
        counts = {"active": 0, "revoked": 0, "expired": 0}
        for entry in self._entries.values():
            row = entry.row
            if row.revoked_us is not None:
                counts["revoked"] += 1
            elif row.expires_us is not None and row.expires_us <= now_s * 1e6:
                counts["expired"] += 1
            else:
                counts["active"] += 1
        return counts

    # -- refresh ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read every key and live session; a key whose quotas did not change keeps its
        live counters."""
        with self._reload_lock:
            rows = self._store.load()
            live = self._sessions_store.live(now_us())
            old = self._entries
            fresh: dict[str, _Entry] = {}
            for row in rows:
                previous = old.get(row.id)
                if previous is not None and _same_quotas(previous.row, row):
                    principal = previous.principal
                else:
                    principal = self._principal(row)
                fresh[row.id] = _Entry(row, principal)
            self._entries = fresh
            self._sessions = {session.digest: session for session in live}

    def flush(self) -> None:
        """Write the collected ``last_used`` times."""
        batch, self._used = self._used, {}
        if batch:
            self._store.touch(batch)

    def start(self, refresh_s: float) -> None:
        self.quotas.start()
        self.reload()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._refresh_loop, args=(refresh_s,), name="visor-keys", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        try:
            self.flush()
        except Exception:
            log.warning("could not write the keys' last-used times", exc_info=True)
        self.quotas.stop()

    def _refresh_loop(self, refresh_s: float) -> None:
        while not self._stop.wait(refresh_s):
            try:
                self.flush()
                self.reload()
            except Exception:  # the database may be briefly unreachable: keep serving
                log.warning("API key refresh failed; keeping the last known keys", exc_info=True)

    def _principal(self, row: KeyRow) -> Principal:
        rate = row.rate_per_s if row.rate_per_s is not None else self._defaults.rate_per_s
        burst = row.burst if row.burst is not None else self._defaults.burst
        calls = row.max_concurrent if row.max_concurrent is not None else None
        return Principal(
            key_id=row.id,
            name=row.name,
            scope=row.scope,
            requests=self.quotas.rate(row.id, rate, float(burst)),
            calls=self.quotas.calls(
                row.id, calls if calls is not None else self._defaults.max_concurrent
            ),
        )


def _same_quotas(a: KeyRow, b: KeyRow) -> bool:
    return (a.rate_per_s, a.burst, a.max_concurrent, a.scope, a.name) == (
        b.rate_per_s,
        b.burst,
        b.max_concurrent,
        b.scope,
        b.name,
    )
