"""Server logging: one format, plugin output tagged with the plugin's name."""

from __future__ import annotations

import logging

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Attach one handler to the ``visor`` logger tree (idempotent; leaves uvicorn alone)."""
    root = logging.getLogger("visor")
    root.setLevel(level.upper())
    if not any(getattr(h, "_visor", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._visor = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
