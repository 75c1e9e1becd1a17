"""Wire the dashboard into an app: page routes, docs routes and the packaged assets."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.dashboard import docs, pages, session
from app.dashboard.paths import STATIC_DIR, STATIC_PREFIX, STATIC_ROUTE_NAME


def install_dashboard(app: FastAPI, *, version: str) -> None:
    """Serve the dashboard at ``/`` and the API docs at ``/docs`` and ``/redoc``.

    The app must be built with ``docs_url=None, redoc_url=None`` so that FastAPI's CDN
    pages do not shadow these.
    """
    app.include_router(pages.build_router(version))
    app.include_router(session.build_router())
    app.include_router(docs.router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name=STATIC_ROUTE_NAME)
