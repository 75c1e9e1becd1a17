"""Prometheus view of authentication, read at scrape time (the request path only bumps
dict counters). Keys are labelled by their public id, never by name or secret; refusals by
reason.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from enum import StrEnum

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.auth.index import KeyIndex


class RefusalReason(StrEnum):
    MISSING_KEY = "missing_key"
    INVALID_KEY = "invalid_key"  # malformed, unknown, revoked or expired
    SCOPE = "scope"
    RATE = "rate"
    ADDRESS = "address"  # too many failed authentications from one address
    ORIGIN = "origin"
    NO_KEYS = "no_keys"  # reached from another machine while no key exists (auth auto)


class AuthCounters:
    """Counts bumped on the event loop by the middleware (single thread: no lock)."""

    def __init__(self) -> None:
        self.refusals: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()


class AuthCollector(Collector):
    def __init__(self, counters: AuthCounters, index: KeyIndex) -> None:
        self._counters = counters
        self._index = index

    def collect(self) -> Iterator[Metric]:
        refusals = CounterMetricFamily(
            "visor_auth_refusals",
            "Requests refused by authentication, by reason.",
            labels=["reason"],
        )
        for reason in RefusalReason:
            refusals.add_metric([reason.value], self._counters.refusals[reason.value])
        yield refusals
        requests = CounterMetricFamily(
            "visor_key_requests", "Authenticated requests by key id.", labels=["key_id"]
        )
        for key_id, count in sorted(self._counters.requests.items()):
            requests.add_metric([key_id], count)
        yield requests
        keys = GaugeMetricFamily("visor_api_keys", "API keys by state.", labels=["state"])
        for state, count in self._index.states(time.time()).items():
            keys.add_metric([state], count)
        yield keys
