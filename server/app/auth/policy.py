"""The scope every route needs: ONE table, checked against the app's own route table.

To add a route, add its line to :data:`ROUTE_SCOPES`: ``(METHOD, path template)`` as the
route declares it (``"*"`` for a route or mount that takes every method, ``"WS"`` for a
WebSocket route) → the least :class:`~app.auth.scopes.Access` it needs. A route missing
from the table is served to ``admin`` keys only (fail closed), is logged at start, and
fails ``tests/auth/test_route_scopes.py``, which prints the exact line to add.

Ownership (a ``read`` key sees only its own jobs) is not a route property: the services
enforce it from :func:`app.auth.principal.owner_filter`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from app.auth.scopes import Access

log = logging.getLogger("visor.auth")

PUBLIC, READ, RUN, ADMIN = Access.PUBLIC, Access.READ, Access.RUN, Access.ADMIN

ROUTE_SCOPES: dict[tuple[str, str], Access] = {
    # probes: open even when keys are required (load balancers have no key)
    ("GET", "/v1/health"): PUBLIC,
    ("GET", "/v1/ready"): PUBLIC,
    # observability and API docs
    ("GET", "/metrics"): READ,
    ("GET", "/v1/scaling"): READ,
    ("GET", "/openapi.json"): READ,
    ("GET", "/docs"): READ,
    ("GET", "/redoc"): READ,
    # plugins and tools
    ("GET", "/v1/plugins"): READ,
    ("GET", "/v1/plugins/{plugin}"): READ,
    ("GET", "/v1/plugins/{plugin}/health"): READ,
    ("POST", "/v1/plugins/reload"): ADMIN,
    ("POST", "/v1/analyze"): RUN,
    ("POST", "/v1/plugins/{plugin}/tools/{tool}/run"): RUN,
    # jobs (a non-admin key sees only its own: JobManagementService)
    ("GET", "/v1/jobs"): READ,
    ("POST", "/v1/jobs"): RUN,
    ("GET", "/v1/jobs/{job_id}"): READ,
    ("GET", "/v1/jobs/{job_id}/result"): READ,
    ("GET", "/v1/jobs/{job_id}/events"): READ,
    ("GET", "/v1/jobs/{job_id}/image"): READ,
    ("POST", "/v1/jobs/{job_id}/rerun"): RUN,
    ("DELETE", "/v1/jobs/{job_id}"): RUN,
    # uploaded files (each key sees only its own: app.files)
    ("GET", "/v1/files"): READ,
    ("POST", "/v1/files"): RUN,
    ("GET", "/v1/files/{file_id}"): READ,
    ("DELETE", "/v1/files/{file_id}"): RUN,
    # video jobs (then followed, cancelled and fetched under /v1/jobs)
    ("POST", "/v1/video/jobs"): RUN,
    # pipelines: saving and deleting changes what every key can run
    ("GET", "/v1/pipelines"): READ,
    ("POST", "/v1/pipelines"): ADMIN,
    ("POST", "/v1/pipelines/run"): RUN,
    ("GET", "/v1/pipelines/{name}"): READ,
    ("DELETE", "/v1/pipelines/{name}"): ADMIN,
    ("POST", "/v1/pipelines/{name}/run"): RUN,
    # the model repository: registering and removing changes what every key can run
    ("GET", "/v1/models"): READ,
    ("POST", "/v1/models"): ADMIN,
    ("GET", "/v1/models/{name}"): READ,
    ("DELETE", "/v1/models/{ref}"): ADMIN,
    # sources: each one's frames are tool calls of the key that started it (app.sources);
    # webhooks: where its events go (each key sees only its own)
    ("GET", "/v1/sources"): READ,
    ("POST", "/v1/sources"): RUN,
    ("GET", "/v1/sources/{source_id}"): READ,
    ("GET", "/v1/sources/{source_id}/frame"): READ,
    ("POST", "/v1/sources/{source_id}/pause"): RUN,
    ("POST", "/v1/sources/{source_id}/resume"): RUN,
    ("DELETE", "/v1/sources/{source_id}"): RUN,
    ("GET", "/v1/webhooks"): READ,
    ("POST", "/v1/webhooks"): RUN,
    ("DELETE", "/v1/webhooks/{webhook_id}"): RUN,
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): READ,
    # live streams: every frame is a tool call
    ("WS", "/v1/streams/{plugin}/{tool}"): RUN,
    ("WS", "/v1/streams/pipeline/{name}"): RUN,
    # MCP: listing needs read; tools/call needs run (checked per call: app.auth.guard)
    ("*", "/mcp"): READ,
    ("*", "/mcp/"): READ,
    # the dashboard: page shells and assets carry no data (everything they show comes from
    # the API with the caller's key), so a browser can reach the key prompt; the session
    # routes check the key themselves (app.dashboard.session)
    ("GET", "/"): PUBLIC,
    ("GET", "/ui/plugins/{plugin}"): PUBLIC,
    ("GET", "/ui/try"): PUBLIC,
    ("GET", "/ui/live"): PUBLIC,
    ("GET", "/ui/jobs"): PUBLIC,
    ("GET", "/ui/jobs/{job_id}"): PUBLIC,
    ("*", "/ui/static"): PUBLIC,
    ("GET", "/ui/session"): PUBLIC,
    ("POST", "/ui/session"): PUBLIC,
    ("DELETE", "/ui/session"): PUBLIC,
    ("GET", "/ui/api/overview"): READ,
    # keys
    ("GET", "/v1/keys"): ADMIN,
    ("POST", "/v1/keys"): ADMIN,
    ("DELETE", "/v1/keys/{name}"): ADMIN,
}

#: What a request that matches no route needs: any valid key (the app then says 404/405,
#: and callers without a key learn nothing about which paths exist).
UNROUTED = READ


@dataclass(frozen=True)
class RouteKey:
    """One (method, path) a route serves, spelled as in :data:`ROUTE_SCOPES`."""

    method: str
    path: str

    @property
    def entry(self) -> tuple[str, str]:
        return (self.method, self.path)


@dataclass(frozen=True)
class RouteView:
    """One route as the request path sees it: full path (router prefixes applied), kind,
    methods and regex. FastAPI includes routers lazily, so ``app.routes`` holds included
    routers, not their routes: :func:`flat_routes` unfolds them."""

    kind: type[BaseRoute]
    path: str
    methods: frozenset[str] | None
    regex: re.Pattern[str]


def flat_routes(routes: Sequence[BaseRoute]) -> list[RouteView]:
    """Every route, in matching order, with included routers unfolded."""
    views: list[RouteView] = []
    for context in iter_route_contexts(routes):
        original = context.original_route
        regex = getattr(context, "path_regex", None)
        if regex is None:
            continue
        kind = (
            WebSocketRoute if isinstance(original, WebSocketRoute)
            else Mount if isinstance(original, Mount)
            else Route if isinstance(original, Route)
            else type(original)
        )  # fmt: skip
        methods = context.methods
        views.append(
            RouteView(kind, context.path or "/", frozenset(methods) if methods else None, regex)
        )
    return views


def route_keys(route: RouteView) -> list[RouteKey]:
    """The table keys a route needs (HEAD rides with GET, as Starlette adds it)."""
    if route.kind is WebSocketRoute:
        return [RouteKey("WS", route.path)]
    if route.kind is Mount or route.methods is None:
        return [RouteKey("*", route.path)]
    return [RouteKey(m, route.path) for m in sorted(route.methods) if m != "HEAD"]


def declared(key: RouteKey) -> Access | None:
    return ROUTE_SCOPES.get(key.entry)


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    static: str | None
    access: dict[str, Access]  # method ("*": any) → access


class RoutePolicy:
    """Answers "what does this request need?" the way Starlette would route it: rules in
    route order, the first full match (path and method) wins. Results for static paths are
    cached, so the hot routes cost one dict lookup."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._rules: list[_Rule] = []
        self.undeclared: list[RouteKey] = []
        for route in flat_routes(routes):
            access: dict[str, Access] = {}
            for key in route_keys(route):
                found = declared(key)
                if found is None:
                    self.undeclared.append(key)
                    found = ADMIN
                access[key.method] = found
                if key.method == "GET":
                    access["HEAD"] = found
            static = route.path if route.kind is Route and "{" not in route.path else None
            self._rules.append(_Rule(route.regex, static, access))
        self._cache: dict[tuple[str, str], Access] = {}
        for key in self.undeclared:
            log.warning(
                "route %s %s has no declared scope: only admin keys may call it "
                "(add it to ROUTE_SCOPES in app/auth/policy.py)",
                key.method,
                key.path,
            )

    def access_for(self, method: str, path: str, *, websocket: bool = False) -> Access:
        method = "WS" if websocket else method
        cached = self._cache.get((method, path))
        if cached is not None:
            return cached
        for rule in self._rules:
            if (rule.static is not None and rule.static != path) or not rule.regex.match(path):
                continue
            access = rule.access.get(method, rule.access.get("*"))
            if access is not None:
                if rule.static is not None:
                    self._cache[(method, path)] = access
                return access
        return UNROUTED


def missing_entries(routes: Sequence[BaseRoute]) -> list[RouteKey]:
    """Route keys of ``routes`` with no line in :data:`ROUTE_SCOPES`."""
    return [
        key for route in flat_routes(routes) for key in route_keys(route) if declared(key) is None
    ]
