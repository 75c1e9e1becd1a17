"""``image_url``: fetch an image over http(s) without becoming a proxy into private networks.

The guard sits in the network backend, below HTTP: the host name is resolved here, every
resolved address must be public, the connection is made to that address, and the peer
address of the socket is checked again. A DNS answer that changes between a check and
the connect (rebinding) therefore cannot reach a private address, and every redirect goes
through the same backend. No proxies from the environment are used, only http and https
are spoken, and the body is read under a byte limit and must be an image.

One deadline covers the whole fetch: connect, TLS, headers, body and every redirect. Each
socket operation waits at most the time left until it, so an origin that drips a byte at a
time cannot stretch the call (a per-read timeout alone restarts with every byte). The body
is held in the server's body budget (:mod:`app.body_budget`) as it arrives, like a request
body, and spooled to a temporary file past 1 MiB: concurrent downloads cannot grow memory
past the budget, and a refused one never sat in memory. A URL is normalised the way browsers
do (IDNA host, percent-encoded path and query) before anything is sent.
"""

from __future__ import annotations

import ipaddress
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from app.body_budget import BodyBudget, Share, current_share
from app.errors import DEFAULT_RETRY_AFTER_S, ErrorCode, VisorError
from app.plugins.base64_text import refuse
from app.units import human_bytes, limit_text

FIELD = "image_url"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = b"Visor image fetcher"
_SPOOL_IN_MEMORY_BYTES = 1024 * 1024  # larger downloads are spooled to a temporary file
_SETTING = "VISOR_MAX_IMAGE_BYTES"  # the download limit is the image limit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class UrlPolicy:
    enabled: bool = False
    max_bytes: int = 25 * 1024 * 1024
    timeout_s: float = 10.0
    max_redirects: int = 5
    #: Networks an operator explicitly trusts (an intranet image host); empty by default.
    allow_networks: tuple[IPNetwork, ...] = ()


class BlockedAddress(Exception):
    """The URL leads to an address Visor must not connect to."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(f"{host} resolves to {address}, a {why} address")
        self.host = host
        self.address = address
        self.why = why


def forbidden_reason(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why ``address`` is off limits (loopback, private …), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in allowed):
        return None
    for why, hit in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if hit:
            return why
    return None if address.is_global else "non-public"


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read, write and TLS handshake ends by ``deadline``."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the fetch's deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # CPython bounds the whole handshake by the socket timeout, not each read.
        inner = self._inner.start_tls(ssl_context, server_hostname, self._left(timeout))
        return DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to public addresses, checking the address actually connected; every
    socket operation of the connection ends by ``deadline`` (a ``time.monotonic()``)."""

    def __init__(
        self,
        allowed: Sequence[IPNetwork],
        resolver: Resolver = system_resolver,
        deadline: float | None = None,
    ) -> None:
        self._inner = httpcore.SyncBackend()
        self._allowed = tuple(allowed)
        self._resolver = resolver
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = [
                ipaddress.ip_address(a.split("%", 1)[0]) for a in self._resolver(host, port)
            ]
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        for address in addresses:  # one private answer taints the name
            why = forbidden_reason(address, self._allowed)
            if why:
                raise BlockedAddress(host, str(address), why)
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise httpcore.ConnectTimeout("the fetch's deadline passed")
            timeout = left if timeout is None else min(timeout, left)
        stream = self._inner.connect_tcp(
            str(addresses[0]), port, timeout, local_address, socket_options
        )
        if self._deadline is not None:
            stream = DeadlineStream(stream, self._deadline)
        sock = stream.get_extra_info("socket")
        peer = ipaddress.ip_address(sock.getpeername()[0]) if sock is not None else None
        why = forbidden_reason(peer, self._allowed) if peer is not None else "unverifiable"
        if why:
            stream.close()
            raise BlockedAddress(host, str(peer), why)
        return stream

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class UrlFetcher:
    def __init__(
        self,
        policy: UrlPolicy,
        *,
        resolver: Resolver = system_resolver,
        budget: BodyBudget | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._budget = budget

    @property
    def enabled(self) -> bool:
        return self._policy.enabled

    def fetch(self, value: object) -> tuple[bytes, str]:
        """``(bytes, content type)`` of the image at ``value``, following safe redirects."""
        policy = self._policy
        if not policy.enabled:
            raise refuse(
                FIELD, "inputs are disabled on this server (set VISOR_ALLOW_URL_INPUTS=true)"
            )
        url = _checked_url(value)
        deadline = time.monotonic() + policy.timeout_s
        backend = GuardedBackend(policy.allow_networks, self._resolver, deadline)
        with httpcore.ConnectionPool(network_backend=backend, max_connections=1, retries=0) as pool:
            for _ in range(policy.max_redirects + 1):
                location = self._get(pool, url, deadline)
                if isinstance(location, tuple):
                    return location
                url = _checked_url(urljoin(url, location), redirect=True)
        raise refuse(FIELD, f"redirected more than {policy.max_redirects} times")

    def _get(
        self, pool: httpcore.ConnectionPool, url: str, deadline: float
    ) -> tuple[bytes, str] | str:
        """The body and type of a 200, or the next location of a redirect."""
        remaining = max(0.001, deadline - time.monotonic())
        timeouts = {"connect": remaining, "read": remaining, "write": remaining, "pool": remaining}
        headers = [(b"User-Agent", _USER_AGENT), (b"Accept", b"image/*")]
        try:
            with pool.stream("GET", url, headers=headers, extensions={"timeout": timeouts}) as resp:
                fields = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in resp.headers}
                if resp.status in _REDIRECTS and "location" in fields:
                    return fields["location"]
                if resp.status != 200:
                    raise refuse(FIELD, f"answered HTTP {resp.status}", status=resp.status)
                content_type = fields.get("content-type", "").split(";", 1)[0].strip().lower()
                if not content_type.startswith("image/"):
                    raise refuse(
                        FIELD,
                        f"is not an image: the server says its content type is "
                        f"{content_type or 'unknown'!r}",
                    )
                return self._read(resp, fields), content_type
        except BlockedAddress as exc:
            if exc.host.strip("[]") == exc.address:
                what = f"{exc.address} is a {exc.why} address"
            else:
                what = f"{exc.host} resolves to {exc.address}, a {exc.why} address"
            raise refuse(FIELD, f"is refused: {what}", address_kind=exc.why) from None
        except httpcore.TimeoutException:
            raise refuse(
                FIELD,
                f"took longer than {self._policy.timeout_s:g} s",
                limit_s=self._policy.timeout_s,
            ) from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise refuse(FIELD, f"could not be fetched: {type(exc).__name__}") from None

    def _read(self, resp: httpcore.Response, fields: dict[str, str]) -> bytes:
        limit = self._policy.max_bytes
        declared = fields.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise refuse(
                FIELD,
                f"is {human_bytes(int(declared))}; {limit_text(human_bytes(limit), _SETTING)}",
                limit_bytes=limit,
                setting=_SETTING,
            )
        share = current_share()
        if self._budget is None or (share is not None and share.budget is not self._budget):
            return self._read_into(resp, None)
        if share is not None:  # a request's: given back when its response is done
            return self._read_into(resp, share)
        with self._budget.share() as own:  # no request: held while the bytes are read
            return self._read_into(resp, own)

    def _read_into(self, resp: httpcore.Response, share: Share | None) -> bytes:
        """The body, spooled to a temporary file past 1 MiB: a body refused at the size
        limit or the budget never sat in memory, and one that is kept is read back in one
        allocation of its exact size (growing buffers left the heap fragmented)."""
        limit = self._policy.max_bytes
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY_BYTES) as spool:
            for chunk in resp.iter_stream():
                size += len(chunk)
                if size > limit:
                    raise refuse(
                        FIELD,
                        f"is more than {human_bytes(limit)}, the limit ({_SETTING})",
                        limit_bytes=limit,
                        setting=_SETTING,
                    )
                if share is not None and not share.take(len(chunk)):
                    raise VisorError(
                        f"{FIELD} cannot be downloaded now: the server holds "
                        f"{human_bytes(share.budget.limit_bytes)} of bodies already "
                        "(VISOR_MAX_BODIES_IN_FLIGHT_BYTES); retry shortly",
                        code=ErrorCode.OVERLOADED,
                        details={
                            "field": FIELD,
                            "limit_bytes": share.budget.limit_bytes,
                            "retry_after_s": DEFAULT_RETRY_AFTER_S,
                        },
                    )
                spool.write(chunk)
            spool.seek(0)
            return spool.read()


def _checked_url(value: object, *, redirect: bool = False) -> str:
    """The URL as sent on the wire: http(s), a host, IDNA and percent-encoding applied."""
    if not isinstance(value, str) or not value.strip():
        raise refuse(FIELD, "must be an http(s) URL string")
    try:
        scheme = urlsplit(value.strip()).scheme
    except ValueError:
        raise refuse(FIELD, "is not a valid URL") from None
    if scheme.lower() not in ("http", "https"):
        scheme = scheme or "no scheme"
        if redirect:
            raise refuse(FIELD, f"redirects to a {scheme} URL; only http(s) is fetched")
        raise refuse(FIELD, f"must be an http(s) URL, not {scheme}")
    try:
        url = httpx.URL(value.strip())
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        where = "redirects to an invalid URL" if redirect else "is not a valid URL"
        raise refuse(FIELD, f"{where}: {_short(str(exc))}") from None
    if not url.host:
        raise refuse(FIELD, "has no host")
    return str(url.copy_with(fragment=None))


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
