"""Builds the ``/mcp`` endpoint from the app's services and settings (one place to wire it)."""

from __future__ import annotations

from app.files.store import FileStore
from app.mcp.cancellation import InFlightCalls
from app.mcp.http import McpEndpoint, transport_security
from app.mcp.resources import FileResources
from app.mcp.results import ResultBudget
from app.mcp.server import build_mcp_server
from app.mcp.tools import Limits, Naming
from app.pipelines.service import PipelineService
from app.services.analysis_service import AnalysisService
from app.settings import Settings


def build_mcp_endpoint(
    analysis: AnalysisService,
    settings: Settings,
    *,
    version: str,
    files: FileStore | None = None,
    pipelines: PipelineService | None = None,
) -> McpEndpoint:
    """The endpoint, its server and the in-flight call table they share."""
    in_flight = InFlightCalls()
    limits = Limits(
        max_image_bytes=settings.max_image_bytes,
        max_result_bytes=min(settings.mcp_max_result_bytes, settings.max_result_bytes),
    )
    security = transport_security(settings.host, settings.allowed_origins)
    built = build_mcp_server(
        analysis,
        version=version,
        limits=limits,
        in_flight=in_flight,
        naming=Naming(settings.mcp_tool_separator, tuple(settings.mcp_tools)),
        files=FileResources(files) if files is not None else None,
        pipelines=pipelines,
        budget=ResultBudget(settings.mcp_max_result_tokens),
        render_max_bytes=settings.mcp_render_max_bytes,
        progress_interval_s=settings.mcp_progress_interval_s,
        security=security,
    )
    return McpEndpoint(
        built.server,
        max_body_bytes=settings.max_request_bytes,
        security=security,
        in_flight=in_flight,
        fast=built.fast,
    )
