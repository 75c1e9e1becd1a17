"""Row ids: uuid4 hex, 32 characters (the ``String(32)`` id columns).

Alphanumeric only, so an id can also name a file under the data directory safely.
"""

from __future__ import annotations

import uuid


def new_id() -> str:
    return uuid.uuid4().hex
