"""The low-level MCP server: tools listed from the registry, calls run through ToolRunner.

Built from the app's :class:`AnalysisService` (never a registry or runner of its own), so
an MCP call is the same governed call as ``POST /v1/analyze``: same validation, isolation,
metrics, error envelope and rendering. ``ToolRunner.run`` blocks, so calls run on a worker
thread; tool progress travels back from that thread through a small relay and goes out as
``notifications/progress`` when the client asked for it. Every running call is registered
with its caller and request id, so ``notifications/cancelled`` can stop it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast
from urllib.parse import parse_qs

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import mcp_types as types
import orjson
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import ValidationError

from app.auth.principal import current_principal
from app.auth.scopes import Access
from app.errors import ErrorCode, VisorError, build_envelope, envelope_from_exception, public_error
from app.files.owner import current_owner
from app.mcp import pipeline_tools, tools
from app.mcp.cancellation import InFlightCalls
from app.mcp.door_tools import DoorTools
from app.mcp.fastpath import FastToolCalls
from app.mcp.progress import forward_progress
from app.mcp.resources import FileResources, ToolSchemas
from app.mcp.results import PAGE_TOOL, ResultBudget, describe
from app.mcp.results import URI_PREFIX as RESULTS_URI
from app.pipelines.service import PIPELINE_JOB_PLUGIN, PipelineInput, PipelineService
from app.plugins.base import ToolSpec
from app.plugins.loader.plugin_registry import PluginRegistry
from app.plugins.runtime.executor import CallContext, ProgressCallback, call_context
from app.services.analysis_service import AnalysisService, AnalyzeResponse
from app.tracing import spans as tracing

log = logging.getLogger("visor.mcp")

Progress = tuple[float, str | None]
Outcome = tuple[dict[str, Any], dict[str, Any]]
T = TypeVar("T")

#: Hosts reset a call's timeout on progress: a long call reports at least this often.
DEFAULT_PROGRESS_INTERVAL_S = 1.5

#: Agent hosts accept about this much of one tool result (Claude Code: 25k by default).
DEFAULT_RESULT_TOKENS = 20_000

#: Failures that mean "no such tool": a protocol error, not a tool result (MCP spec).
_UNKNOWN_TOOL_CODES = frozenset({ErrorCode.PLUGIN_NOT_FOUND.value, ErrorCode.TOOL_NOT_FOUND.value})


def instructions(limits: tools.Limits, naming: tools.Naming) -> str:
    """What every tool has in common, said once (not in each tool's description)."""
    name = naming.name("plugin", "tool")
    return (
        f"Visor runs vision tools, named {name}. Give a tool its image as exactly one of: "
        "'image' (base64; a data: URL or line-wrapped base64 is fine), 'image_ref' (the id "
        "or visor://files/<id> URI of an uploaded file: upload one with the files.upload "
        "tool or POST /v1/files), and where the server allows, 'image_url' or 'image_path' "
        "(a path or file:// URI under its input roots); 'mime_type' is optional. "
        f"{limits.describe()} Tools that find things take 'render': true to also return "
        "them drawn over the image. A long option list is in the resource "
        "visor://tools/<tool>/input-schema. A failed call returns isError with the JSON "
        "text {'error': {type, message, details: {code, ...}}}."
    )


def build_mcp_server(
    analysis: AnalysisService,
    *,
    version: str,
    limits: tools.Limits,
    in_flight: InFlightCalls,
    naming: tools.Naming | None = None,
    files: FileResources | None = None,
    pipelines: PipelineService | None = None,
    budget: ResultBudget | None = None,
    render_max_bytes: int | None = None,
    progress_interval_s: float = DEFAULT_PROGRESS_INTERVAL_S,
    security: TransportSecuritySettings | None = None,
) -> McpServer:
    """An MCP server whose tools are the plugin tools of ``analysis`` and the saved
    ``pipelines`` (``pipeline.<name>``), read on every call, and whose resources are the
    caller's uploaded ``files`` and each tool's full input schema."""
    registry = analysis.plugins.registry
    naming = naming or tools.Naming()
    catalogue = tools.ToolCatalogue(registry, analysis.plugins.inputs, limits, naming)
    schemas = ToolSchemas(catalogue)
    budget = budget or ResultBudget(DEFAULT_RESULT_TOKENS)
    door = DoorTools(naming, budget, files.store if files is not None else None)
    deliver = _Delivery(budget, naming)

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        # ttl 0: clients must not cache the list, it follows plugin reloads and pipelines
        # saved or deleted (a stateless server cannot push notifications/tools/list_changed).
        narrowed = _narrowed(ctx)
        listed = catalogue.list_tools(narrowed) + door.list_tools()
        if pipelines is not None:
            saved = await anyio.to_thread.run_sync(pipelines.store.list)
            listed += [
                tool
                for tool in pipeline_tools.list_pipeline_tools(saved, registry, limits, naming)
                if naming.offered(
                    PIPELINE_JOB_PLUGIN, tool.name[len(PIPELINE_JOB_PLUGIN) + 1 :], narrowed
                )
            ]
        return types.ListToolsResult(tools=listed, ttl_ms=0)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if not tracing.enabled():
            return await run_call(ctx, params)
        attributes = {"mcp.method.name": "tools/call", "visor.mcp.tool": params.name}
        with tracing.span("visor.mcp.call", attributes):  # under the door's span
            return await run_call(ctx, params)

    async def run_call(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        narrowed = _narrowed(ctx)
        if (own := door.find(params.name)) is not None:
            return await door.call(own, dict(params.arguments or {}))
        if (
            pipelines is not None
            and pipeline_tools.is_pipeline_tool(params.name)
            and naming.offered(
                PIPELINE_JOB_PLUGIN, pipeline_tools.pipeline_name(params.name), narrowed
            )
        ):
            outcome = await _call_pipeline(
                pipelines, ctx, params, limits, in_flight, progress_interval_s
            )
            return outcome if isinstance(outcome, types.CallToolResult) else deliver(outcome)
        parts = catalogue.find(params.name, narrowed)
        if parts is None:
            raise MCPError(
                INVALID_PARAMS,
                f"Unknown tool: {params.name} (tools are {naming.name('plugin', 'tool')})",
            )
        plugin, tool = parts
        spec = _spec(registry, plugin, tool)
        arguments = dict(params.arguments or {})
        render = False
        if spec is not None and tools.renders(spec) and tools.RENDER in arguments:
            render = arguments.pop(tools.RENDER)
            if not isinstance(render, bool):
                return tools.error_result(_bad_render(plugin))
        call = CallContext(call_id=_request_id(ctx), max_result_bytes=limits.max_result_bytes)

        def work() -> tuple[AnalyzeResponse | None, dict[str, Any]]:
            return analysis.run_tool(
                plugin, tool, arguments, render=render, render_max_bytes=render_max_bytes
            )

        run = _Call(work, call)
        with _tracked(in_flight, ctx, call):
            if _progress_token(params) is None:
                response, error = await run.blocking()
            else:
                response, error = await run.reporting(ctx, progress_interval_s)
        if response is not None:
            return deliver(response.result, response.rendered_image)
        if error["error"]["details"].get("code") in _UNKNOWN_TOOL_CODES:
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}", data=public_error(error))
        return tools.error_result(error)

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if params.uri.startswith(RESULTS_URI):
            return _read_result(budget, params.uri)
        if schemas.owns(params.uri) or files is None:
            return schemas.read(params.uri)
        return await files.read(ctx, params)

    server: Server[Any] = Server(
        "visor",
        version=version,
        title="Visor",
        description="Governed execution of vision plugin tools.",
        instructions=instructions(limits, naming),
        get_tool_input_schema=lambda name: _input_schema_for(catalogue, name, pipelines),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=files.list if files is not None else None,
        on_read_resource=read_resource,
    )
    # The SDK wraps every message in an OpenTelemetry span through the global provider.
    # Visor traces a call itself (visor.mcp.call under the door's span, only while tracing
    # is on), so the SDK's span is pure per-call cost on the path bench/mcp_roundtrip.py
    # holds close to REST.
    server.middleware[:] = [m for m in server.middleware if not _is_tracing(m)]

    async def fast_call(
        scope: Any, request_id: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        """``tools/call`` for the fast path: the same handler, given what it reads of a
        request context (the HTTP scope and the request id)."""
        ctx = cast(ServerRequestContext[Any, Any], _FastContext(_Scoped(scope), request_id))
        return await call_tool(ctx, params)

    fast = FastToolCalls(
        server, fast_call, lambda name: catalogue.resolve(name) is not None, security
    )
    return McpServer(server, fast)


@dataclass(frozen=True)
class McpServer:
    """The SDK server, and the fast path for the common call (:mod:`app.mcp.fastpath`)."""

    server: Server[Any]
    fast: FastToolCalls


@dataclass(frozen=True)
class _Scoped:
    scope: Any


@dataclass(frozen=True)
class _FastContext:
    """What ``call_tool`` reads of a request context, on the fast path (no progress: a
    call that asked for it takes the SDK's path)."""

    request: _Scoped
    request_id: Any
    session: None = None


def _input_schema_for(
    catalogue: tools.ToolCatalogue, name: str, pipelines: PipelineService | None
) -> dict[str, Any] | None:
    if pipelines is not None and pipeline_tools.is_pipeline_tool(name):
        return pipeline_tools.INPUT_SCHEMA  # the same for every pipeline: no lookup
    return catalogue.input_schema_for(name)


def _narrowed(ctx: ServerRequestContext[Any, Any]) -> tuple[str, ...]:
    """``/mcp?tools=ocr.*,barcode.*``: the tools one client configuration wants offered."""
    scope = getattr(ctx.request, "scope", None)
    query = scope.get("query_string", b"") if isinstance(scope, dict) else b""
    if not query:
        return ()
    wanted = parse_qs(query.decode("latin-1")).get("tools", [])
    return tuple(p.strip() for value in wanted for p in value.split(",") if p.strip())


async def _call_pipeline(
    pipelines: PipelineService,
    ctx: ServerRequestContext[Any, Any],
    params: types.CallToolRequestParams,
    limits: tools.Limits,
    in_flight: InFlightCalls,
    progress_interval_s: float,
) -> types.CallToolResult | dict[str, Any]:
    """``pipeline.<name>``: the saved pipeline through :class:`PipelineService`, so every
    step is a governed tool call; a failing step is an ``isError`` result whose envelope
    names it (``details.step``); progress per step when the client asked for it. Returns
    the result itself on success (delivered within the budget by the caller)."""
    name = pipeline_tools.pipeline_name(params.name)
    principal = current_principal()
    if principal is not None and not principal.allows(Access.RUN):
        return tools.error_result(
            build_envelope(
                ErrorCode.FORBIDDEN,
                f"key {principal.key_id} has scope {principal.scope.value}; "
                "running pipelines needs run",
                details={"scope": principal.scope.value, "required": "run"},
            )
        )
    try:
        saved = await anyio.to_thread.run_sync(pipelines.store.get, name)
    except VisorError as exc:
        raise MCPError(
            INVALID_PARAMS,
            f"Unknown tool: {params.name}",
            data=public_error(envelope_from_exception(exc)),
        ) from None
    try:
        given = PipelineInput.model_validate(dict(params.arguments or {}))
    except ValidationError:
        return tools.error_result(
            build_envelope(
                ErrorCode.INVALID_INPUT,
                "a pipeline takes only its image: image, image_ref, image_url, image_path, "
                "mime_type (its steps carry their own args)",
                details={"accepted": sorted(PipelineInput.model_fields)},
            )
        )
    call = CallContext(call_id=_request_id(ctx), max_result_bytes=limits.max_result_bytes)

    def work() -> Outcome:
        return pipelines.run(saved.spec, given)

    run = _Call(work, call)
    with _tracked(in_flight, ctx, call):
        if _progress_token(params) is None:
            result, error = await run.blocking()
        else:
            result, error = await run.reporting(ctx, progress_interval_s)
    if error:
        return tools.error_result(error)
    size = len(orjson.dumps(result))
    if size > limits.max_result_bytes:
        return tools.error_result(
            build_envelope(
                ErrorCode.INVALID_OUTPUT,
                f"pipeline {name!r} returned {size} bytes of JSON; the limit is "
                f"{limits.max_result_bytes} bytes (ask its steps for less)",
                details={"limit_bytes": limits.max_result_bytes, "result_bytes": size},
            )
        )
    return result


def _is_tracing(middleware: object) -> bool:
    return type(middleware).__name__ == "OpenTelemetryMiddleware"


def _spec(registry: PluginRegistry, plugin: str, tool: str) -> ToolSpec | None:
    record = registry.get(plugin)
    return record.tools.get(tool) if record else None


def _bad_render(plugin: str) -> dict[str, Any]:
    return build_envelope(
        ErrorCode.INVALID_INPUT,
        "render must be true or false",
        details={"field": tools.RENDER},
        plugin=plugin,
    )


@contextlib.contextmanager
def _tracked(
    in_flight: InFlightCalls, ctx: ServerRequestContext[Any, Any], call: CallContext
) -> Iterator[None]:
    """Register the call so a ``notifications/cancelled`` from its caller can find it."""
    scope = getattr(ctx.request, "scope", None)
    if scope is None or ctx.request_id is None:
        yield
        return
    with in_flight.track(scope, ctx.request_id, call):
        yield


class _Call(Generic[T]):
    """One call (a tool, or a pipeline of tool calls) on a worker thread, in its own call
    context (cancel flag, result limit, progress)."""

    def __init__(self, work: Callable[[], T], call: CallContext) -> None:
        self._work = work
        self._call = call

    def _run(self) -> T:
        with call_context(self._call):
            return self._work()

    async def blocking(self) -> T:
        """Run on a worker thread; a cancelled request (client gone) cancels the tool too."""
        try:
            return await anyio.to_thread.run_sync(self._run, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            self._call.cancel()  # let the tool see ctx.cancelled; workers are stopped
            raise

    async def reporting(self, ctx: ServerRequestContext[Any, Any], interval_s: float) -> T:
        """:meth:`blocking`, forwarding the tool's progress (and a heartbeat in its gaps,
        :mod:`app.mcp.progress`); all of it precedes the result."""
        send, receive = anyio.create_memory_object_stream[Progress](math.inf)
        self._call.progress = _thread_reporter(send.send_nowait)

        async def report(fraction: float, message: str | None) -> None:
            await ctx.session.report_progress(fraction, 1.0, message)

        async with anyio.create_task_group() as tg:
            tg.start_soon(forward_progress, receive, report, interval_s)
            try:
                outcome = await self.blocking()
            finally:
                send.close()
        return outcome


_GONE = (anyio.ClosedResourceError, anyio.BrokenResourceError, RuntimeError)


def _thread_reporter(put: Callable[[Progress], None]) -> ProgressCallback:
    """A progress callback safe to call from any thread (tool pool, worker readers)."""
    token = anyio.lowlevel.current_token()

    def report(fraction: float, message: str | None) -> None:
        # Best effort: after the call finished (or the loop is gone) progress is dropped.
        with contextlib.suppress(*_GONE):
            anyio.from_thread.run_sync(put, (fraction, message), token=token)

    return report


def _progress_token(params: types.CallToolRequestParams) -> Any:
    meta: dict[str, Any] = dict(params.meta or {})
    return meta.get("progress_token", meta.get("progressToken"))


def _request_id(ctx: ServerRequestContext[Any, Any]) -> str:
    """The HTTP request id (``X-Request-ID``) when there is one, so logs line up."""
    state = getattr(ctx.request, "scope", {}).get("state", {})
    request_id = state.get("request_id") if isinstance(state, dict) else None
    return str(request_id) if request_id else uuid.uuid4().hex


class _Delivery:
    """A successful result as the agent gets it: within the token budget, with what was
    cut and how to get the rest (``results.page``, or the result as a resource)."""

    def __init__(self, budget: ResultBudget, naming: tools.Naming) -> None:
        self._budget = budget
        self._page_tool = naming.name(*PAGE_TOOL)

    def __call__(self, result: dict[str, Any], rendered: str | None = None) -> types.CallToolResult:
        fitted, cuts = self._budget.fit(result)
        answer = tools.success_result(fitted, rendered, mime_type="image/jpeg")
        if not cuts:
            return answer
        result_id = self._budget.keep(result, current_owner())
        note = describe(cuts, result_id, self._budget.max_tokens, self._page_tool)
        answer.content.append(types.TextContent(type="text", text=note))
        answer.content.append(
            types.ResourceLink(
                type="resource_link",
                uri=RESULTS_URI + result_id,
                name=f"full result {result_id}",
                mime_type="application/json",
            )
        )
        answer.meta = {
            "visor/cut": [
                {"path": c.pointer, "kept": c.kept, "total": c.total, "unit": c.unit} for c in cuts
            ],
            "visor/result": result_id,
        }
        return answer


def _read_result(budget: ResultBudget, uri: str) -> types.ReadResourceResult:
    kept = budget.get(uri[len(RESULTS_URI) :], current_owner())
    if kept is None:
        envelope = build_envelope(
            ErrorCode.NOT_FOUND,
            f"no result {uri!r} (results are kept 15 minutes, on the server that made them)",
            details={"uri": uri},
        )
        raise MCPError(INVALID_PARAMS, "Resource not found", data=public_error(envelope))
    text = orjson.dumps(kept).decode("utf-8")
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=text)],
        ttl_ms=0,
    )
