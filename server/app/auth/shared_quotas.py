"""Quotas shared by every server of a deployment (issue 27): the key's request rate and
concurrent tool calls counted in Redis, not per process.

With ``VISOR_QUOTA_REDIS_URL`` set, a key limited to N requests/s gets N/s across all the
servers behind a load balancer, not N per server process. Without it the quotas stay in
memory (:mod:`app.auth.quotas`), free and per process, as before.

- **Rate**: one token bucket per key in a Redis hash, refilled and taken by one Lua script
  on Redis's own clock: atomic, so the sum admitted by all servers over any window is
  ``burst + rate * window``, however many servers ask (what the tests hold to ±10%).
- **Concurrency**: one sorted set per key; a call adds a lease that expires
  :data:`LEASE_S` after it was last renewed, and each server renews its callers' leases
  every few seconds. A server killed mid-call stops renewing: its slots come back within
  :data:`LEASE_S` instead of being lost for good.
- **Redis unreachable**: the request is let through (logged at most every 30 s). An outage
  of the quota store does not take the API down; it makes the quota per nothing for as
  long as it lasts.

Each check is one Redis round trip (~0.1 ms on a LAN) on the request's path.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, Protocol

from app.auth.quotas import ConcurrencyLimit, TokenBucket

log = logging.getLogger("visor.auth")

LEASE_S = 30.0
_RENEW_S = LEASE_S / 3
_WARN_EVERY_S = 30.0

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then tokens = burst; stamp = now end
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 60)
return 1
"""

_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 60)
return 1
"""


class RateLimit(Protocol):
    rate: float

    def take(self, now: float | None = None) -> float:
        """0.0 if a request may go now, else the seconds until one may."""
        ...


class CallLimit(Protocol):
    limit: int

    def try_acquire(self) -> bool: ...
    def release(self) -> None: ...


class QuotaBackend(Protocol):
    def rate(self, key_id: str, rate: float, burst: float) -> RateLimit: ...
    def calls(self, key_id: str, limit: int) -> CallLimit: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


class MemoryQuotas:
    """Per process, in memory: the single-server default."""

    def rate(self, key_id: str, rate: float, burst: float) -> TokenBucket:
        return TokenBucket(rate=rate, burst=burst)

    def calls(self, key_id: str, limit: int) -> ConcurrencyLimit:
        return ConcurrencyLimit(limit)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class RedisQuotas:
    """Every server's quotas in one Redis (redis-py, the ``redis`` extra)."""

    def __init__(self, url: str, *, prefix: str = "visor:quota:", client: Any = None) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._held: dict[str, list[str]] = {}  # zset key -> this server's live leases
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = 0.0

    def rate(self, key_id: str, rate: float, burst: float) -> RedisRate:
        return RedisRate(self, f"{self._prefix}rate:{key_id}", rate, burst)

    def calls(self, key_id: str, limit: int) -> RedisCalls:
        return RedisCalls(self, f"{self._prefix}calls:{key_id}", limit)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew_loop, name="visor-quotas", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self._client.close()

    # -- used by the limits -----------------------------------------------------------------

    def take(self, key: str, rate: float, burst: float) -> float:
        try:
            return float(self._take(keys=[key], args=[rate, burst]))
        except Exception as exc:  # redis.RedisError, OSError: let the request through
            self._unreachable(exc)
            return 0.0

    def acquire(self, key: str, limit: int) -> bool:
        member = uuid.uuid4().hex
        try:
            granted = bool(self._acquire(keys=[key], args=[limit, member, LEASE_S]))
        except Exception as exc:
            self._unreachable(exc)
            return True  # nothing to release in Redis: release() finds no lease
        if granted:
            with self._lock:
                self._held.setdefault(key, []).append(member)
        return granted

    def release(self, key: str) -> None:
        with self._lock:
            leases = self._held.get(key)
            if not leases:
                return
            member = leases.pop()
            if not leases:
                del self._held[key]
        try:
            self._client.zrem(key, member)
        except Exception as exc:  # the lease expires on its own
            self._unreachable(exc)

    def _renew_loop(self) -> None:
        while not self._stop.wait(_RENEW_S):
            with self._lock:
                held = {key: list(members) for key, members in self._held.items()}
            for key, members in held.items():
                try:
                    self._renew(keys=[key], args=[LEASE_S, *members])
                except Exception as exc:
                    self._unreachable(exc)

    def _unreachable(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned >= _WARN_EVERY_S:
            self._warned = now
            log.warning("quota store (Redis) unreachable, letting requests through: %s", exc)


class RedisRate:
    def __init__(self, quotas: RedisQuotas, key: str, rate: float, burst: float) -> None:
        self._quotas = quotas
        self._key = key
        self.rate = rate
        self.burst = burst

    def take(self, now: float | None = None) -> float:
        return self._quotas.take(self._key, self.rate, self.burst)


class RedisCalls:
    def __init__(self, quotas: RedisQuotas, key: str, limit: int) -> None:
        self._quotas = quotas
        self._key = key
        self.limit = limit

    def try_acquire(self) -> bool:
        return self._quotas.acquire(self._key, self.limit)

    def release(self) -> None:
        self._quotas.release(self._key)


def build_quotas(redis_url: str | None) -> QuotaBackend:
    """Redis when a URL is given, else per-process memory."""
    return RedisQuotas(redis_url) if redis_url else MemoryQuotas()
