"""Where the dashboard lives: its URL prefix, its static assets and its templates."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATE_DIR = PACKAGE_DIR / "templates"

#: Every dashboard URL except the overview at ``/`` and the docs lives under this prefix.
PREFIX = "/ui"
STATIC_PREFIX = f"{PREFIX}/static"
STATIC_ROUTE_NAME = "dashboard-static"


def root(request: Request) -> str:
    """The path the app is mounted at (behind a proxy that strips a prefix), or ``""``."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def static_url(request: Request, path: str) -> str:
    """A root-relative URL for a packaged asset (no host: it works behind any proxy)."""
    return f"{root(request)}{STATIC_PREFIX}/{path}"
