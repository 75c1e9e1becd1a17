"""AuthService: the state the middleware and the key routes share, built by ``create_app``.

It holds the key index (on the job store's engine: keys live in the same database), the
failure throttle, the origin policy and the mode, and decides whether authentication is
on right now: with ``VISOR_AUTH=auto`` that changes the moment the first key exists.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from app.auth import sessions
from app.auth.credentials import Credential
from app.auth.exposure import AuthMode, UnsafeExposure, is_loopback, open_warning, refusal
from app.auth.index import KeyIndex, QuotaDefaults, Refusal
from app.auth.keys import ApiKey, KeyCreate, KeyCreated
from app.auth.metrics import AuthCollector, AuthCounters
from app.auth.origins import OriginPolicy
from app.auth.principal import Principal
from app.auth.quotas import FailureThrottle
from app.auth.shared_quotas import build_quotas
from app.auth.store import KeyStore
from app.settings import Settings

log = logging.getLogger("visor.auth")


class AuthService:
    def __init__(
        self,
        index: KeyIndex,
        *,
        mode: AuthMode,
        host: str,
        origins: OriginPolicy,
        failures: FailureThrottle,
        refresh_s: float,
    ) -> None:
        self.index = index
        self.mode = mode
        self.host = host
        self.origins = origins
        self.failures = failures
        self.counters = AuthCounters()
        self._refresh_s = refresh_s
        #: How often a long-lived connection re-checks its credential (:mod:`.lease`).
        self.recheck_s = min(1.0, refresh_s / 4)

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> AuthService:
        defaults = QuotaDefaults(
            rate_per_s=settings.auth_rate_per_s,
            burst=settings.auth_burst,
            max_concurrent=settings.auth_max_concurrent_calls,
        )
        return cls(
            KeyIndex(KeyStore(engine), defaults, quotas=build_quotas(settings.quota_redis_url)),
            mode=AuthMode(settings.auth),
            host=settings.host,
            origins=OriginPolicy(
                settings.allowed_origins, loopback_bound=is_loopback(settings.host)
            ),
            failures=FailureThrottle(settings.auth_failures_burst, settings.auth_failures_per_min),
            refresh_s=settings.auth_refresh_s,
        )

    def collector(self) -> AuthCollector:
        """The Prometheus collector for this service's keys and refusals."""
        return AuthCollector(self.counters, self.index)

    def refuses_outsiders(self) -> bool:
        """``auto`` with no key yet: only this machine may call (see :mod:`.exposure`)."""
        return self.mode is AuthMode.AUTO and not self.index.any_keys

    @property
    def enabled(self) -> bool:
        if self.mode is AuthMode.AUTO:
            return self.index.any_keys
        return self.mode is AuthMode.REQUIRED

    # -- the request path -------------------------------------------------------------------

    async def authenticate(self, credential: Credential) -> Principal | Refusal:
        """A credential to its principal (the middleware's check, and the re-check of every
        long-lived connection: :mod:`app.auth.lease`). A session opened on another server
        since the last refresh costs one database lookup, here and once."""
        found = self.index.check(credential)
        if (
            found is Refusal.SESSION_ENDED
            and credential.session
            and sessions.is_token(credential.secret)
            and not self.index.knows_session(credential.secret)
        ):
            await run_in_threadpool(self.index.load_session, credential.secret)
            found = self.index.check(credential)
        return found

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Load the keys (the schema is migrated already) and check the exposure."""
        self.index.start(self._refresh_s)
        reason = refusal(self.host, self.mode, self.index.any_keys)
        if reason is not None:
            self.index.stop()
            raise UnsafeExposure(reason)
        warning = open_warning(self.host, self.mode)
        if warning is not None:
            log.warning(warning)

    def stop(self) -> None:
        self.index.stop()

    # -- keys (the REST routes; the CLI uses KeyStore directly) -----------------------------

    def create_key(self, request: KeyCreate) -> KeyCreated:
        created = self.index.store.create(request)
        self.index.reload()
        log.info("API key %s (%s, %s) created", created.key.id, created.key.name, created.key.scope)
        return created

    def revoke_key(self, name: str) -> ApiKey:
        revoked = self.index.store.revoke(name)
        self.index.reload()
        log.info("API key %s (%s) revoked", revoked.id, revoked.name)
        return revoked

    def list_keys(self) -> list[ApiKey]:
        self.index.flush()  # show this server's latest last-used times
        return self.index.store.list_keys()
