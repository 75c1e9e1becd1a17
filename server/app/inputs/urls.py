"""``image_url``: fetch an image over http(s) without becoming a proxy into private networks.

The guard sits in the network backend, below HTTP: the host name is resolved here, every
resolved address must be public, the connection is made to that address, and the peer
address of the socket is checked again. A DNS answer that changes between a check and
the connect (rebinding) therefore cannot reach a private address, and every redirect goes
through the same backend. No proxies from the environment are used, only http and https
are spoken, and the body is read under a byte and a time limit and must be an image.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore

from app.plugins.base64_text import refuse

FIELD = "image_url"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = b"Visor image fetcher"

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


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to public addresses, checking the address actually connected."""

    def __init__(self, allowed: Sequence[IPNetwork], resolver: Resolver = system_resolver):
        self._inner = httpcore.SyncBackend()
        self._allowed = tuple(allowed)
        self._resolver = resolver

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
        stream = self._inner.connect_tcp(
            str(addresses[0]), port, timeout, local_address, socket_options
        )
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
    def __init__(self, policy: UrlPolicy, *, resolver: Resolver = system_resolver) -> None:
        self._policy = policy
        self._backend = GuardedBackend(policy.allow_networks, resolver)

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
        with httpcore.ConnectionPool(
            network_backend=self._backend, max_connections=1, retries=0
        ) as pool:
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
                return self._read(resp, fields, deadline), content_type
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

    def _read(self, resp: httpcore.Response, fields: dict[str, str], deadline: float) -> bytes:
        limit = self._policy.max_bytes
        declared = fields.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise refuse(FIELD, f"is {declared} bytes; the limit is {limit}", limit_bytes=limit)
        body = bytearray()
        for chunk in resp.iter_stream():
            body += chunk
            if len(body) > limit:
                raise refuse(FIELD, f"is more than {limit} bytes", limit_bytes=limit)
            if time.monotonic() > deadline:
                raise httpcore.ReadTimeout("deadline")
        return bytes(body)


def _checked_url(value: object, *, redirect: bool = False) -> str:
    if not isinstance(value, str) or not value.strip():
        raise refuse(FIELD, "must be an http(s) URL string")
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        raise refuse(FIELD, "is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no scheme"
        if redirect:
            raise refuse(FIELD, f"redirects to a {scheme} URL; only http(s) is fetched")
        raise refuse(FIELD, f"must be an http(s) URL, not {scheme}")
    if not parts.hostname:
        raise refuse(FIELD, "has no host")
    return value.strip()
