"""Key scopes and the access level each route needs.

Scopes are ordered: ``read`` ⊂ ``run`` ⊂ ``admin``. A route needs one :class:`Access`
level; ``public`` routes (liveness, readiness) need no key at all.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Scope(StrEnum):
    """What a key may do. ``read``: look; ``run``: look and run tools; ``admin``: all."""

    READ = "read"
    RUN = "run"
    ADMIN = "admin"

    @property
    def level(self) -> Access:
        return _LEVEL[self]

    def allows(self, access: Access) -> bool:
        return self.level >= access


class Access(IntEnum):
    """The least a caller needs for a route (ordered: each level includes the ones below)."""

    PUBLIC = 0
    READ = 1
    RUN = 2
    ADMIN = 3


_LEVEL = {Scope.READ: Access.READ, Scope.RUN: Access.RUN, Scope.ADMIN: Access.ADMIN}
