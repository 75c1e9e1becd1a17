"""KeyIndex: the in-memory view of every key that the request path authenticates against.

The database is read at start, after each change made through this server, and every
``refresh_s`` (for keys created or revoked by another server or by ``visor keys``). A
request costs one dict lookup and one SHA-256, never a query. ``last_used`` times collect
in a dict and are written in one batch per refresh; a crash loses at most that interval.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from app.auth import keys, sessions
from app.auth.principal import Principal
from app.auth.quotas import ConcurrencyLimit, TokenBucket
from app.auth.store import KeyRow, KeyStore
from app.store.clock import now_us

log = logging.getLogger("visor.auth")


class Refusal(StrEnum):
    """Why a presented key does not authenticate (the message says it, the secret never)."""

    MALFORMED = "the key is not a Visor API key"
    UNKNOWN = "unknown API key"
    REVOKED = "this API key was revoked"
    EXPIRED = "this API key has expired"
    SESSION_EXPIRED = "this dashboard session has expired: sign in again"


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
    def __init__(self, store: KeyStore, defaults: QuotaDefaults) -> None:
        self._store = store
        self._defaults = defaults
        self._entries: dict[str, _Entry] = {}
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

    def authenticate(self, key: str) -> Principal | Refusal:
        """A key — or a dashboard session token (:mod:`app.auth.sessions`) — to its
        principal; a token answers exactly as its key would, and also dies at its expiry."""
        session = sessions.parse(key)
        if session is not None:
            key_id: str | None = session.key_id
            entry = self._entries.get(session.key_id)
            if entry is None or not sessions.verify(session, entry.row.digest):
                return Refusal.UNKNOWN
            if session.expires_s <= time.time():
                return Refusal.SESSION_EXPIRED
        else:
            key_id = keys.key_id_of(key)
            if key_id is None:
                return Refusal.MALFORMED
            entry = self._entries.get(key_id)
            if entry is None or not keys.matches(key, entry.row.digest):
                return Refusal.UNKNOWN
        assert key_id is not None
        if entry.row.revoked_us is not None:
            return Refusal.REVOKED
        if entry.row.expires_us is not None and entry.row.expires_us <= time.time() * 1e6:
            return Refusal.EXPIRED
        self._used[key_id] = now_us()
        return entry.principal

    def open_session(self, key: str, ttl_s: float) -> tuple[Principal, str] | Refusal:
        """Check a typed key and issue a session token for it (the dashboard's sign-in)."""
        found = self.authenticate(key)
        if isinstance(found, Refusal):
            return found
        entry = self._entries[found.key_id]
        expires_s = int(time.time() + ttl_s)
        if entry.row.expires_us is not None:  # a session never outlives its key
            expires_s = min(expires_s, entry.row.expires_us // 1_000_000)
        return found, sessions.issue(found.key_id, entry.row.digest, expires_s)

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
        """Re-read every key; a key whose quotas did not change keeps its live counters."""
        with self._reload_lock:
            rows = self._store.load()
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

    def flush(self) -> None:
        """Write the collected ``last_used`` times."""
        batch, self._used = self._used, {}
        if batch:
            self._store.touch(batch)

    def start(self, refresh_s: float) -> None:
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
            requests=TokenBucket(rate=rate, burst=float(burst)),
            calls=ConcurrencyLimit(calls if calls is not None else self._defaults.max_concurrent),
        )


def _same_quotas(a: KeyRow, b: KeyRow) -> bool:
    return (a.rate_per_s, a.burst, a.max_concurrent, a.scope, a.name) == (
        b.rate_per_s,
        b.burst,
        b.max_concurrent,
        b.scope,
        b.name,
    )
