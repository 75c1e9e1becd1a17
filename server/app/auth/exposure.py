"""When authentication is on, and when the server refuses to start (SPEC §7).

``VISOR_AUTH``: ``auto`` (default) turns keys on as soon as one exists; ``required`` turns
them on even with none; ``off`` turns them off even on a public interface (loudly). With
``auto``, no key and a non-loopback host, the server refuses to start; and whichever way
it was started (``uvicorn app.main:app --host 0.0.0.0`` included), a request that reaches
it through a non-loopback interface while no key exists is refused (only the public
routes answer), so an open server is never reachable from another machine by accident.
"""

from __future__ import annotations

import functools
import ipaddress
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class AuthMode(StrEnum):
    AUTO = "auto"
    REQUIRED = "required"
    OFF = "off"


def is_loopback(host: str) -> bool:
    """True for an interface only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def reached_from_outside(server: tuple[str, int] | list[Any] | None) -> bool:
    """True when a connection arrived on a non-loopback interface.

    ``server`` is the ASGI scope's local address of the connection. Only a literal IP
    counts: a Unix socket (``None``) or a test client's host name is not an interface.
    """
    if not server:
        return False
    return _public_interface(str(server[0]))


@functools.lru_cache(maxsize=64)
def _public_interface(host: str) -> bool:
    """Parsed once per interface: the answer is on the path of every request of an open
    server (a machine has a handful of interfaces)."""
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_loopback


class UnsafeExposure(RuntimeError):
    """Refusing to serve other machines without keys; the message is the one line to print."""


def refusal(host: str, mode: AuthMode, any_keys: bool) -> str | None:
    """The one-line reason not to start, or ``None``."""
    if mode is AuthMode.AUTO and not any_keys and not is_loopback(host):
        return (
            f"refusing to serve {host} without API keys: create one with "
            "'visor keys create NAME --scope admin', bind 127.0.0.1, "
            "or set VISOR_AUTH=off to serve without keys"
        )
    return None


def open_warning(host: str, mode: AuthMode) -> str | None:
    if mode is AuthMode.OFF and not is_loopback(host):
        return (
            f"VISOR_AUTH=off on {host}: ANYONE WHO CAN REACH THIS PORT CAN RUN TOOLS, "
            "READ EVERY JOB AND RELOAD PLUGINS"
        )
    return None


def serve_refusal(settings: Settings) -> str | None:
    """For ``visor serve``, before the server starts: the one-line refusal, or ``None``.

    Reads the key table (migrating first, as the server would) only when the answer
    depends on it: auth ``auto`` on a non-loopback host.
    """
    mode = AuthMode(settings.auth)
    if mode is not AuthMode.AUTO or is_loopback(settings.host):
        return None
    from app.auth.store import KeyStore
    from app.store.engine import build_engine
    from app.store.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings.resolved_database_url())
    try:
        upgrade(engine)
        any_keys = bool(KeyStore(engine).load())
    finally:
        engine.dispose()
    return refusal(settings.host, mode, any_keys)
