"""The FastAPI application: ``create_app(settings)`` builds one, ``app`` is the default.

The factory wires state explicitly (registry, executor, services, metrics) onto
``app.state``; the lifespan loads and starts plugins and stops them again. Nothing runs at
import time except building the default app object.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from app.api.errors import install_error_handlers
from app.api.head import HeadAsGet
from app.api.middleware import RequestContextMiddleware
from app.api.openapi import install_openapi
from app.api.routes import (
    analyze,
    files,
    health,
    jobs,
    keys,
    metrics,
    models,
    pipelines,
    plugins,
    sources,
    video,
)
from app.api.routes import streams as stream_routes
from app.api.scaling import read_signal
from app.api.tracing import TracingMiddleware
from app.auth.cors import install_cors
from app.auth.middleware import AuthMiddleware
from app.auth.service import AuthService
from app.blobs.factory import build_blob_store
from app.body_budget import BodyBudget
from app.dashboard import install_dashboard
from app.files.store import FileLimits, FileStore
from app.mcp.factory import build_mcp_endpoint
from app.mcp.refusals import render_refusal
from app.models.service import ModelService
from app.observability.history import CallHistory
from app.observability.logging import configure_logging
from app.observability.metrics import PrometheusMetrics
from app.observability.scaling import ScalingCollector
from app.pipelines.budget import PipelineLimits
from app.pipelines.service import PipelineService
from app.pipelines.store import PipelineStore
from app.plugins.loader.plugin_loader import PluginSource
from app.plugins.loader.plugin_registry import PluginRegistry, get_registry
from app.plugins.runtime.executor import Executor
from app.plugins.runtime.factory import build_executor, request_threads
from app.services.analysis_service import AnalysisService
from app.services.job_management_service import JobManagementService
from app.services.plugin_management_service import PluginManagementService
from app.serving import (
    CountRequests,
    GracefulStop,
    RequestsInFlight,
    register,
    widen_thread_pool,
)
from app.settings import Settings
from app.sources.service import SourceService
from app.store.engine import build_engine
from app.streams.limits import StreamLimits
from app.tracing import enabled as tracing_enabled
from app.tracing.setup import install_from_settings as install_tracing
from app.tracing.setup import installed as installed_tracing
from app.video.service import VideoService

log = logging.getLogger("visor")

VERSION = "0.1.0"


def create_app(
    settings: Settings | None = None,
    *,
    registry: PluginRegistry | None = None,
    executor: Executor | None = None,
    plugin_sources: Sequence[PluginSource] | None = None,
) -> FastAPI:
    """Build a Visor app. Tests pass their own registry and plugin sources."""
    settings = settings or Settings()
    # Process-wide, like logging. An embedding program (or a test) may have installed
    # tracing itself (app.tracing.setup.install): the door's span follows whichever is on.
    install_tracing(settings.tracing, settings.trace_frame_sample)
    registry = registry if registry is not None else get_registry()
    executor = executor if executor is not None else build_executor(settings, registry)

    blobs = build_blob_store(settings)  # files, job inputs, videos: VISOR_BLOB_URL
    file_store = FileStore(
        build_engine(settings.resolved_database_url()),
        settings.data_dir / "files",
        FileLimits(
            max_bytes=settings.max_image_bytes,
            max_video_bytes=settings.max_video_bytes,
            ttl_s=settings.file_ttl_s,
            quota_bytes=settings.file_quota_bytes,
            max_files=settings.file_max_count,
        ),
        blobs=blobs.scope("files"),
    )
    # Request bodies, downloaded images and stream frames share one budget (app/body_budget.py).
    bodies = BodyBudget(max(settings.max_bodies_in_flight_bytes, settings.max_request_bytes))
    plugin_service = PluginManagementService.from_settings(
        settings, registry, executor, sources=plugin_sources, files=file_store.read, budget=bodies
    )
    model_service = ModelService.from_settings(settings, plugin_service)  # a plugin source
    job_service = JobManagementService.from_settings(
        settings, plugin_service, blobs=blobs.scope("job-inputs")
    )
    prometheus = PrometheusMetrics(registry, getattr(executor, "batch_sizes", None))
    call_history = CallHistory(registry)  # the dashboard's charts over time
    auth = AuthService.from_settings(settings, job_service.store.engine)
    prometheus.registry.register(auth.collector())
    prometheus.registry.register(  # the autoscaling signal (docs/deploy.md)
        ScalingCollector(lambda: read_signal(plugin_service, job_service, settings.job_concurrency))
    )
    analysis_service = AnalysisService(plugin_service)
    pipeline_service = PipelineService(
        plugin_service,
        PipelineStore(job_service.store.engine),
        PipelineLimits.from_settings(settings),
    )
    job_service.run_pipelines_with(pipeline_service)
    video_service = VideoService.from_settings(
        settings, job_service, plugin_service, pipeline_service, file_store
    )
    source_service = SourceService.from_settings(
        settings, job_service, plugin_service, pipeline_service, auth
    )
    mcp = build_mcp_endpoint(
        analysis_service, settings, version=VERSION, files=file_store, pipelines=pipeline_service
    )

    requests = RequestsInFlight()

    def not_ready() -> None:
        app.state.ready = False

    def stop_plugins() -> None:
        # Requests already accepted may still be on their way to a tool: the executors
        # refuse new calls only once those are served, or at the deadline.
        deadline = time.monotonic() + settings.shutdown_timeout_s
        requests.wait_idle(deadline)
        plugin_service.shutdown(max(0.0, deadline - time.monotonic()))

    # Run once, when the server starts shutting down (app/serving.py) or the lifespan
    # ends: jobs stop and are requeued while tool calls get shutdown_timeout_s.
    stop = GracefulStop([not_ready, source_service.stop, job_service.stop, stop_plugins])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_format)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        prometheus.attach()
        call_history.attach()
        await run_in_threadpool(job_service.migrate)  # blobs (model files) may be rows
        await run_in_threadpool(plugin_service.load)
        widen_thread_pool(request_threads(settings, len(registry)))  # no plugin starves another
        await run_in_threadpool(job_service.start)
        await run_in_threadpool(auth.start)  # keys live in the job store's database
        await run_in_threadpool(source_service.start, job_service.events)
        app.state.ready = True
        unregister = register(stop)
        serving = registry.available_names()
        unavailable = sorted(set(registry.names()) - set(serving))
        log.info(
            "visor ready: %d plugins%s",
            len(serving),
            f", {len(unavailable)} unavailable ({', '.join(unavailable)})" if unavailable else "",
        )
        try:
            async with mcp.running():
                yield
        finally:
            await run_in_threadpool(auth.stop)
            await run_in_threadpool(stop.run)  # at once if shutdown began it already
            unregister()
            await run_in_threadpool(file_store.close)
            prometheus.detach()
            call_history.detach()
            tracer = installed_tracing()
            if tracer is not None:
                await run_in_threadpool(tracer.force_flush)  # spans of the last calls

    app = FastAPI(
        title="Visor",
        version=VERSION,
        description="Governed execution of vision plugins: REST, jobs, MCP.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from the dashboard's packaged assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.plugin_service = plugin_service
    app.state.model_service = model_service
    app.state.analysis_service = analysis_service
    app.state.job_service = job_service
    app.state.pipeline_service = pipeline_service
    app.state.video_service = video_service
    app.state.source_service = source_service
    app.state.file_store = file_store
    # Bodies held in memory at once: requests, image_url downloads and live-stream frames.
    app.state.body_budget = bodies
    app.state.metrics = prometheus
    app.state.call_history = call_history
    app.state.mcp = mcp
    app.state.auth = auth
    app.state.stream_limits = StreamLimits.from_settings(settings)
    app.state.ready = False

    install_error_handlers(app)
    install_openapi(app)  # adds what the middleware below answers to every operation
    app.add_middleware(HeadAsGet, router=app.router)  # HEAD answers like GET, without a body
    app.add_middleware(  # every door: one check (/mcp answers its refusals in JSON-RPC)
        AuthMiddleware, auth=auth, router=app.router, renderers=(render_refusal,)
    )
    if tracing_enabled():  # only while tracing is on: an untraced server skips it
        app.add_middleware(TracingMiddleware)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_request_bytes,
        budget=bodies,
        spooled_paths=_spooled_upload_paths(settings),
    )
    install_cors(app, settings.allowed_origins)
    app.add_middleware(CountRequests, requests=requests)  # outermost: all accepted requests
    routers = [analyze.router, plugins.router, jobs.router, files.router, pipelines.router]
    routers += [video.router, models.router, sources.router]
    for router in (*routers, health.router, metrics.router):
        app.include_router(router)
    app.include_router(keys.router)
    app.include_router(stream_routes.router)  # live streams (WebSocket)
    install_dashboard(app, version=VERSION)
    for path in ("/mcp/", "/mcp"):  # plain routes, matched first: no slash redirect
        app.router.routes.insert(0, Route(path, mcp, include_in_schema=False))
    return app


def _spooled_upload_paths(settings: Settings) -> dict[str, tuple[int, str]]:
    """Upload routes whose parts go to disk: they take videos, so a video's body limit
    (plus room for the multipart framing); each with the setting that sets it."""
    video = (settings.max_video_bytes + 64 * 1024, "VISOR_MAX_VIDEO_BYTES")
    limit = max((settings.max_request_bytes, "VISOR_MAX_REQUEST_BYTES"), video)
    models = (settings.model_max_bytes + 1024 * 1024, "VISOR_MODEL_MAX_BYTES")  # + manifest
    return {"/v1/files": limit, "/v1/video/jobs": limit, "/v1/models": models}


app = create_app()
