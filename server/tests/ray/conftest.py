"""Scale-out tests: real Ray (the session's, or a two-node cluster of their own), several
Visor servers on one PostgreSQL database. Skipped, with the reason, where Ray or
PostgreSQL is missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from databases import throwaway_database
from executors import ray_cluster  # noqa: F401  (fixture)


@pytest.fixture
def shared_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for servers to share; dropped after."""
    with throwaway_database("visor_scaleout") as url:
        yield url
