"""``HEAD`` answers like ``GET`` without the body, on every route that serves ``GET``.

Starlette's plain routes add ``HEAD`` to every ``GET`` route; FastAPI's do not, so
``HEAD /v1/jobs`` was a 405. Adding ``HEAD`` to each route's methods would also add a
``head`` operation per path to the OpenAPI document; instead, a ``HEAD`` that no route
takes but some route takes as ``GET`` is routed as that ``GET``. The server drops the
body (uvicorn decides from the request's own method, which stays ``HEAD``), so the
answer has the ``GET``'s status and headers, ``Content-Length`` included.
"""

from __future__ import annotations

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp, *, router: Router) -> None:
        self.app = app
        self._router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD" and self._served_as_get(scope):
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)

    def _served_as_get(self, scope: Scope) -> bool:
        routes = self._router.routes
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            return False  # a route takes HEAD itself (Starlette's, static files)
        as_get = {**scope, "method": "GET"}
        return any(route.matches(as_get)[0] is Match.FULL for route in routes)
