"""Time as the database keeps it: epoch microseconds (``*_us`` BIGINT columns).

Exact, portable between SQLite and PostgreSQL, and totally ordered for cursor paging; the
API shows the same instants as fixed-width ISO-8601 UTC strings.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_us() -> int:
    return time.time_ns() // 1000


def to_micros(moment: datetime) -> int:
    """Epoch microseconds; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def iso_from_micros(micros: int | None) -> str | None:
    if micros is None:
        return None
    moment = datetime.fromtimestamp(micros / 1_000_000, UTC)
    # Fixed width (always microseconds), so the strings also sort in time order.
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
