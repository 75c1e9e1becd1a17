"""The dashboard's pages and the one JSON read model only the dashboard needs.

Pages are server-rendered shells; the ES modules they load fetch everything from the
public REST API (``/v1/...``) like any other client, plus ``/ui/api/overview`` for the
worker pools and queue depth that no public route reports yet.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.dashboard.overview import Overview, build_overview
from app.dashboard.paths import PREFIX, STATIC_PREFIX, TEMPLATE_DIR, root
from app.responses import FastJSONResponse

#: Pages load only what this server serves: the browser refuses anything else.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def build_router(version: str) -> APIRouter:
    """The page routes, rendering the package's templates for app ``version``."""
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    router = APIRouter(include_in_schema=False)

    def render(request: Request, template: str, title: str, **context: Any) -> Response:
        base = root(request)
        response = templates.TemplateResponse(
            request,
            template,
            {
                "title": title,
                "root": base,
                "static": f"{base}{STATIC_PREFIX}",
                "version": version,
                **context,
            },
            headers=PAGE_HEADERS,
        )
        return response

    @router.get("/")
    async def overview_page(request: Request) -> Response:
        return render(request, "overview.html", "Overview", page="overview", script="overview")

    @router.get(f"{PREFIX}/plugins/{{plugin}}")
    async def plugin_page(request: Request, plugin: str) -> Response:
        return render(
            request, "plugin.html", plugin, page="overview", script="plugin", plugin=plugin
        )

    @router.get(f"{PREFIX}/try")
    async def try_page(request: Request) -> Response:
        return render(request, "try.html", "Try a tool", page="try", script="try")

    @router.get(f"{PREFIX}/live")
    async def live_page(request: Request) -> Response:
        return render(request, "live.html", "Live camera", page="live", script="live")

    @router.get(f"{PREFIX}/jobs")
    async def jobs_page(request: Request) -> Response:
        return render(request, "jobs.html", "Jobs", page="jobs", script="jobs")

    @router.get(f"{PREFIX}/jobs/{{job_id}}")
    async def job_page(request: Request, job_id: str) -> Response:
        title = f"Job {job_id[:8]}"
        return render(request, "job.html", title, page="jobs", script="job", job_id=job_id)

    @router.get(f"{PREFIX}/api/overview", response_model=Overview)
    async def overview_data(request: Request) -> Response:
        state = request.app.state
        overview = await run_in_threadpool(
            build_overview,
            state.plugin_service,
            state.job_service,
            getattr(state, "call_history", None),
        )
        return FastJSONResponse(overview.model_dump(mode="json"))

    return router
