"""``/docs`` (Swagger UI) and ``/redoc`` from assets vendored in this package.

FastAPI's default pages load their scripts, styles, fonts and favicon from a CDN, so on a
machine without internet access they are blank. These routes render FastAPI's own page
templates pointed at ``/ui/static/vendor`` and turn off everything that would leave the
machine (Swagger UI's online validator badge, ReDoc's web fonts).
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse

from app.dashboard.paths import root, static_url

router = APIRouter(include_in_schema=False)

#: Swagger UI settings merged over FastAPI's defaults. ``validatorUrl: None`` removes the
#: badge that would send the spec to validator.swagger.io.
SWAGGER_UI_PARAMETERS = {
    "validatorUrl": None,
    "persistAuthorization": True,
    "displayRequestDuration": True,
    "tryItOutEnabled": False,
}


#: The docs pages run FastAPI's inline start-up script and the bundles' inline styles; they
#: may load nothing from elsewhere (ReDoc renders in a blob: worker).
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)


def _secured(response: HTMLResponse, request: Request) -> HTMLResponse:
    """With the page's security headers, and a bar at the top that leads back to the
    dashboard (the vendored pages have no way back of their own)."""
    home = html.escape(root(request) + "/", quote=True)
    other = "redoc" if request.url.path.endswith("/docs") else "docs"
    bar = (
        '<nav style="font:14px system-ui,sans-serif;padding:8px 16px;'
        'border-bottom:1px solid #ddd">'
        f'<a href="{home}">&larr; Visor dashboard</a> &middot; '
        f'<a href="{home}{other}">{"ReDoc" if other == "redoc" else "Swagger UI"}</a></nav>'
    )
    page = bytes(response.body).decode("utf-8").replace("<body>", "<body>" + bar, 1)
    secured = HTMLResponse(page, status_code=response.status_code)
    secured.headers["Content-Security-Policy"] = DOCS_CSP
    secured.headers["X-Content-Type-Options"] = "nosniff"
    return secured


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "") + (request.app.openapi_url or "/openapi.json")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return _secured(
        get_swagger_ui_html(
            openapi_url=_openapi_url(request),
            title=f"{request.app.title} API · Swagger UI",
            swagger_js_url=static_url(request, "vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=static_url(request, "vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=static_url(request, "img/favicon.svg"),
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        ),
        request,
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return _secured(
        get_redoc_html(
            openapi_url=_openapi_url(request),
            title=f"{request.app.title} API · ReDoc",
            redoc_js_url=static_url(request, "vendor/redoc/redoc.standalone.js"),
            redoc_favicon_url=static_url(request, "img/favicon.svg"),
            with_google_fonts=False,
        ),
        request,
    )
