"""FastAPI dependencies: the services the app factory built, taken from ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.services.analysis_service import AnalysisService
from app.services.plugin_management_service import PluginManagementService


async def get_plugin_service(request: Request) -> PluginManagementService:
    service: PluginManagementService = request.app.state.plugin_service
    return service


async def get_analysis_service(request: Request) -> AnalysisService:
    service: AnalysisService = request.app.state.analysis_service
    return service


PluginServiceDep = Annotated[PluginManagementService, Depends(get_plugin_service)]
AnalysisServiceDep = Annotated[AnalysisService, Depends(get_analysis_service)]
