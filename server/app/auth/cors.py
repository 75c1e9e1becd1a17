"""CORS: off unless ``VISOR_ALLOWED_ORIGINS`` names origins, then exactly those.

Outermost, so a browser's preflight (which never carries a key) is answered before
authentication; the actual request is then authenticated like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

_ALLOW_HEADERS = [
    "Authorization",
    "X-API-Key",
    "Content-Type",
    "X-Request-ID",
    "Mcp-Protocol-Version",
    "Mcp-Session-Id",
    "Mcp-Method",  # the 2026-07-28 revision names every request's method and target
    "Mcp-Name",
    "Last-Event-ID",
]
_EXPOSE_HEADERS = [
    "Location",
    "Retry-After",
    "X-Request-ID",
    "WWW-Authenticate",
    "Mcp-Session-Id",
    "Mcp-Protocol-Version",
]


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    if not origins:
        return
    exact = [o.rstrip("/") for o in origins if not o.endswith(":*")]
    wildcards = [re.escape(o[:-2]) + r":\d+" for o in origins if o.endswith(":*")]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=exact,
        allow_origin_regex="|".join(wildcards) or None,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=_ALLOW_HEADERS,
        expose_headers=_EXPOSE_HEADERS,
        max_age=600,
    )
