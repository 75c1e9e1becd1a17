"""The deliverer: sends due webhook deliveries from the outbox, signed, with backoff.

One thread per server. It wakes when an event is enqueued (or every ``poll_s``), claims
due deliveries with a lease, POSTs each to its webhook through the same SSRF guard as
``image_url`` (:class:`app.inputs.urls.GuardedBackend`: public addresses only unless the
operator allows networks, checked on the address connected; redirects are not followed),
and records the outcome. A 2xx answer is delivered; anything else (an error status, a
timeout, a refused address) is retried after ``backoff_s · 2^(attempt-1)`` (capped at
``backoff_max_s``) until ``max_attempts``, then the delivery is dead.

Exactly once, as far as a sender can promise it: a delivered row is never sent again, and
every retry carries the same ``webhook-id`` so the receiver drops a repeat. The one
repeat a sender cannot rule out is a crash between the receiver's 2xx and the row's update;
the lease then runs out and the delivery is sent again, with the same id.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore

from app.inputs.urls import BlockedAddress, GuardedBackend, IPNetwork
from app.sources.outbox import Claimed, Outbox
from app.sources.signing import sign
from app.store.clock import now_us

log = logging.getLogger("visor.webhooks")


@dataclass(frozen=True)
class DeliveryOptions:
    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 600.0
    timeout_s: float = 10.0
    poll_s: float = 1.0
    allow_networks: tuple[IPNetwork, ...] = ()


class Deliverer:
    def __init__(self, outbox: Outbox, options: DeliveryOptions | None = None) -> None:
        self._outbox = outbox
        self._options = options or DeliveryOptions()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = httpcore.ConnectionPool(
            network_backend=GuardedBackend(self._options.allow_networks), max_connections=4
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="visor-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self._options.timeout_s + 5)
        self._pool.close()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_due()
            except Exception:  # the thread's boundary: a store outage must not end it
                log.exception("webhook delivery failed")
                sent = 0
            if not sent:
                self._wake.wait(self._options.poll_s)
                self._wake.clear()

    def deliver_due(self) -> int:
        claimed = self._outbox.claim_due(lease_s=self._options.timeout_s + 30)
        for item in claimed:
            if self._stop.is_set():
                break
            self._send(item)
        return len(claimed)

    def _send(self, item: Claimed) -> None:
        opts = self._options
        timestamp = int(time.time())
        headers = [
            (b"content-type", b"application/json"),
            (b"user-agent", b"Visor webhooks"),
            (b"webhook-id", item.event_id.encode()),
            (b"webhook-timestamp", str(timestamp).encode()),
            (b"webhook-signature", sign(item.secret, item.event_id, timestamp, item.body).encode()),
        ]
        error: str | None = None
        try:
            if urlsplit(item.url).scheme not in ("http", "https"):
                raise ValueError("not an http(s) URL")
            response = self._pool.request(
                "POST",
                item.url,
                headers=headers,
                content=item.body,
                extensions={
                    "timeout": {k: opts.timeout_s for k in ("connect", "read", "write", "pool")}
                },
            )
            if not 200 <= response.status < 300:
                error = f"HTTP {response.status}"
        except BlockedAddress as exc:
            error = f"refused: {exc.host} is a {exc.why} address"
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            error = f"{type(exc).__name__}: the receiver could not be reached"
        except (httpcore.UnsupportedProtocol, ValueError):
            error = "the webhook URL is not a valid http(s) URL"
        if error is None:
            self._outbox.delivered(item.id)
            return
        if item.attempts >= opts.max_attempts:
            log.warning(
                "webhook delivery %s dead after %d attempts: %s", item.id, item.attempts, error
            )
            self._outbox.failed(item.id, error, retry_at_us=None)
            return
        delay = min(opts.backoff_max_s, opts.backoff_s * 2 ** (item.attempts - 1))
        self._outbox.failed(item.id, error, retry_at_us=now_us() + int(delay * 1e6))
