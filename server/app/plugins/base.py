"""The plugin contract: what a plugin author writes.

A plugin is a class with a unique ``name``, a ``version``, a ``description`` and tools.
A tool is a method decorated with :func:`tool`; its input and output JSON Schemas come
from pydantic models in the method's annotations (or are given explicitly)::

    class Echo(Plugin):
        name = "echo"
        version = "1.0.0"
        description = "Says back what it is told."

        @tool(description="Repeat a text.")
        def say(self, args: SayInput, ctx: ToolContext) -> SayOutput:
            ctx.progress(0.5, "halfway")
            return SayOutput(text=args.text)

Handlers may be ``def`` or ``async def``; they may take ``(self)``, ``(self, args)`` or
``(self, args, ctx)``. Raise :class:`InvalidInput` for a bad input (a ValidationError the
caller can fix); any other exception becomes an ``ExecutionError/tool_error``.
Plugins are published through the ``visor.plugins`` entry-point group.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_type_hints

from pydantic import BaseModel, Field

from app.errors import ErrorCode, VisorError

__all__ = [
    "Batching",
    "ImageInput",
    "InvalidInput",
    "Plugin",
    "PluginUnavailable",
    "ToolContext",
    "ToolHints",
    "ToolSpec",
    "tool",
]


class InvalidInput(VisorError):
    """The caller's input is wrong (bad image, impossible option): ValidationError/400."""

    code = ErrorCode.INVALID_INPUT


class PluginUnavailable(VisorError):
    """The plugin cannot serve right now (missing model or extra): PluginError/503."""

    code = ErrorCode.PLUGIN_UNAVAILABLE


class ImageInput(BaseModel):
    """Base input for tools that take one image: base64 bytes plus, optionally, their type.

    Callers may give ``image_ref``, ``image_url`` or ``image_path`` instead of ``image``;
    Visor's input resolver turns them into ``image`` (and fills in ``mime_type`` from the
    bytes) before the tool sees the call, so a tool only ever reads ``image``.
    """

    image: str = Field(
        description=(
            "The image file, base64-encoded (line breaks and a data: URL prefix are fine). "
            "Instead of image, a call may give image_ref (an uploaded file's id), image_url "
            "or image_path where the server allows them."
        ),
        json_schema_extra={"contentEncoding": "base64"},
    )
    mime_type: str | None = Field(
        None,
        description=(
            "Mime type of the image, e.g. image/png or image/jpeg; read from the image's "
            "bytes when omitted, refused when it contradicts them."
        ),
    )


ProgressSink = Callable[[float, str | None], None]


class ToolContext:
    """Per-call services for a running tool: progress reporting and cancellation."""

    __slots__ = ("_cancel", "_deadline", "_is_cancelled", "_sink", "plugin", "tool")

    def __init__(
        self,
        *,
        plugin: str,
        tool: str,
        progress_sink: ProgressSink | None = None,
        cancel_event: threading.Event | None = None,
        deadline: float | None = None,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.plugin = plugin
        self.tool = tool
        self._sink = progress_sink
        self._cancel = cancel_event
        self._is_cancelled = is_cancelled
        self._deadline = deadline  # time.monotonic() value after which the call is over

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress in ``[0, 1]``; callers throttle, so report as often as is natural."""
        if self._sink is None:
            return
        self._sink(min(1.0, max(0.0, float(fraction))), message)

    @property
    def cancelled(self) -> bool:
        """True once the caller gave up or the time limit passed; long loops should stop."""
        if self._cancel is not None and self._cancel.is_set():
            return True
        if self._is_cancelled is not None and self._is_cancelled():
            return True
        return self._deadline is not None and time.monotonic() > self._deadline


@dataclass(frozen=True)
class ToolHints:
    """What a tool does to the world, for agents deciding whether to call it unasked.

    The defaults describe a vision tool: it reads the image it is given, changes nothing,
    gives the same answer twice and reaches nothing outside the server. A tool that writes,
    deletes or calls the network must say so.
    """

    read_only: bool = True
    idempotent: bool = True
    open_world: bool = False

    def as_dict(self) -> dict[str, bool]:
        return {
            "read_only": self.read_only,
            "idempotent": self.idempotent,
            "open_world": self.open_world,
        }


@dataclass(frozen=True)
class Batching:
    """A tool's offer to run concurrent calls together (dynamic batching).

    Calls to the tool that arrive while others are waiting or running are gathered for up
    to ``max_delay_ms`` (never more than ``max_size`` of them) and sent to one worker as one
    batch. Each call keeps its own validation, deadline, cancel, metrics and error envelope;
    a batch answers every call exactly as a call of its own would. ``handler`` names a
    method ``(self, args: list, ctxs: list[ToolContext]) -> list`` that runs the whole batch
    at once (one model session run for all images, say), in the order given; without one,
    the worker runs the tool's own handler once per call, which still saves each call its
    round trip to the worker. If the batch handler raises, the batch's calls are run one
    by one, so each gets the answer (or the error) it alone would have had.
    """

    max_size: int = 8
    max_delay_ms: float = 5.0
    handler: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= int(self.max_size) <= 1024:
            raise ValueError("Batching.max_size must be between 1 and 1024")
        if not 0 <= float(self.max_delay_ms) <= 1000:
            raise ValueError("Batching.max_delay_ms must be between 0 and 1000")

    @property
    def max_delay_s(self) -> float:
        return float(self.max_delay_ms) / 1000.0


@dataclass(frozen=True)
class ToolSpec:
    """Everything Visor knows about one tool, derived once from the decorated method."""

    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    method_name: str
    input_model: type[BaseModel] | None = None
    output_model: type[BaseModel] | None = None
    default: bool = False
    timeout_s: float | None = None
    is_async: bool = False
    arity: int = 2
    annotations: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    hints: ToolHints = ToolHints()
    batch: Batching | None = None
    pixels: bool = False  # reads its image with load_image: decoded frames may be handed over

    def manifest(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "default": self.default,
            "timeout_s": self.timeout_s,
            "hints": self.hints.as_dict(),
        }

    def prepare_args(self, payload: dict[str, Any]) -> Any:
        """Turn a validated payload into what the handler expects (a model or a dict)."""
        if self.input_model is not None:
            try:
                return self.input_model.model_validate(payload)
            except Exception as exc:  # pydantic's ValidationError, rendered for the caller
                raise InvalidInput(str(exc)) from exc
        return payload

    def bind(self, instance: Plugin, payload: dict[str, Any], ctx: ToolContext) -> Any:
        """Call the handler; returns its raw result (or a coroutine for async tools)."""
        method = getattr(instance, self.method_name)
        if self.arity == 0:
            return method()
        args = self.prepare_args(payload)
        if self.arity == 1:
            return method(args)
        return method(args, ctx)

    def bind_batch(self, instance: Plugin, args: list[Any], ctxs: list[ToolContext]) -> list[Any]:
        """Run the declared batch handler on prepared ``args`` (see :class:`Batching`);
        returns one raw result per call, in order."""
        if self.batch is None or self.batch.handler is None:
            raise TypeError(f"tool {self.name!r} declares no batch handler")
        values = list(getattr(instance, self.batch.handler)(args, ctxs))
        if len(values) != len(args):
            raise ValueError(
                f"batch handler of {self.name!r} returned {len(values)} results for "
                f"{len(args)} calls"
            )
        return values


def normalise_output(value: Any) -> Any:
    """Models become plain dicts; anything else is left for ToolRunner to judge."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


_TOOL_MARK = "__visor_tool__"
_OPEN_SCHEMA: dict[str, Any] = {"type": "object"}


def tool(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    input_schema: dict[str, Any] | None = None,
    output_schema: dict[str, Any] | None = None,
    default: bool = False,
    timeout_s: float | None = None,
    title: str | None = None,
    read_only: bool = True,
    idempotent: bool = True,
    open_world: bool = False,
    batch: Batching | None = None,
    pixels: bool = False,
) -> Any:
    """Mark a plugin method as a tool. Usable bare (``@tool``) or with options.

    ``title`` is a short human name; ``read_only``, ``idempotent`` and ``open_world``
    become the tool's hints to agents (:class:`ToolHints`); ``batch`` lets Visor run
    concurrent calls of the tool together (:class:`Batching`). ``pixels=True`` says the
    tool reads its image only through :func:`app.plugins.images.load_image`, so a video
    job may hand it decoded frames instead of JPEG (:mod:`app.plugins.frames`).
    """

    def mark(f: Callable[..., Any]) -> Callable[..., Any]:
        setattr(
            f,
            _TOOL_MARK,
            {
                "name": name or f.__name__,
                "description": description,
                "input_schema": input_schema,
                "output_schema": output_schema,
                "default": default,
                "timeout_s": timeout_s,
                "title": title,
                "hints": ToolHints(read_only, idempotent, open_world),
                "batch": batch,
                "pixels": pixels,
            },
        )
        return f

    return mark(func) if func is not None else mark


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The input schema; unknown keys are refused (a misspelled option must not silently run
    with defaults) unless the model sets ``model_config["extra"]`` itself, e.g. ``"allow"``."""
    schema = model.model_json_schema(mode="validation")
    if model.model_config.get("extra") is None:
        schema.setdefault("additionalProperties", False)
    return schema


def _build_spec(method_name: str, func: Callable[..., Any], options: dict[str, Any]) -> ToolSpec:
    params = list(inspect.signature(func).parameters.values())[1:]  # drop self
    if len(params) > 2:
        raise TypeError(f"tool {options['name']!r} takes (self, args, ctx) at most")
    try:
        hints = get_type_hints(func)
    except Exception:  # unresolvable forward refs: fall back to explicit schemas
        hints = {}
    input_model = None
    if params:
        hinted = hints.get(params[0].name)
        if isinstance(hinted, type) and issubclass(hinted, BaseModel):
            input_model = hinted
    returned = hints.get("return")
    output_model = (
        returned if isinstance(returned, type) and issubclass(returned, BaseModel) else None
    )

    in_schema = options["input_schema"] or (
        _model_schema(input_model) if input_model else dict(_OPEN_SCHEMA)
    )
    out_schema = options["output_schema"] or (
        output_model.model_json_schema(mode="serialization") if output_model else dict(_OPEN_SCHEMA)
    )
    description = options["description"] or inspect.getdoc(func) or ""
    return ToolSpec(
        name=options["name"],
        description=description.strip(),
        input_schema=in_schema,
        output_schema=out_schema,
        method_name=method_name,
        input_model=input_model,
        output_model=output_model,
        default=bool(options["default"]),
        timeout_s=options["timeout_s"],
        is_async=inspect.iscoroutinefunction(func),
        arity=len(params),
        title=options.get("title"),
        hints=options.get("hints") or ToolHints(),
        batch=options.get("batch"),
        pixels=bool(options.get("pixels")),
    )


class Plugin:
    """Base class for Visor plugins. Subclass it, set the metadata and add ``@tool`` methods."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0.0.0"
    description: ClassVar[str] = ""
    #: Execution preferences; operators may override them in settings. Where a plugin runs
    #: (worker process or, for trusted tools, in-process) is the operator's choice alone.
    workers: ClassVar[int | None] = None  # None: the operator's default (CPU count)
    timeout_s: ClassVar[float | None] = None
    memory_limit_mb: ClassVar[int | None] = None

    def startup(self) -> None:
        """Load models once per worker process, before the first call."""

    def shutdown(self) -> None:
        """Release what ``startup`` acquired."""

    def health_check(self) -> bool:
        """Cheap liveness probe used to close an open circuit; True means healthy."""
        return True

    @classmethod
    def check_requirements(cls) -> None:
        """Raise :class:`PluginUnavailable` (with the install command) when an optional
        dependency is missing. Called when the plugin is loaded, in the server, before any
        worker starts: keep it cheap (``importlib.util.find_spec``, not imports)."""

    @classmethod
    def tool_specs(cls) -> dict[str, ToolSpec]:
        """All tools of this plugin class, keyed by tool name (computed once per class)."""
        cached = cls.__dict__.get("_visor_tool_specs")
        if cached is not None:
            return dict(cached)
        specs: dict[str, ToolSpec] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                options = getattr(value, _TOOL_MARK, None)
                if options is None:
                    continue
                spec = _build_spec(attr, value, options)
                specs[spec.name] = spec
        cls._visor_tool_specs = specs  # type: ignore[attr-defined]
        return dict(specs)

    @classmethod
    def default_tool_name(cls) -> str | None:
        """The plugin's only tool, or the one it marks ``default=True``; else None."""
        specs = cls.tool_specs()
        defaults = [s.name for s in specs.values() if s.default]
        if len(defaults) == 1:
            return defaults[0]
        if len(specs) == 1:
            return next(iter(specs))
        return None

    @classmethod
    def validate_class(cls) -> None:
        """Reject a plugin class that breaks the contract, with a reason a human can act on."""
        if not isinstance(cls.name, str) or not cls.name.strip():
            raise TypeError("plugin has no name")
        if not all(c.isalnum() or c in "_-" for c in cls.name):
            raise TypeError(f"plugin name {cls.name!r} may only use letters, digits, _ and -")
        if not isinstance(cls.version, str) or not cls.version:
            raise TypeError(f"plugin {cls.name!r} has no version")
        specs = cls.tool_specs()
        if not specs:
            raise TypeError(f"plugin {cls.name!r} declares no tools")
        if sum(1 for s in specs.values() if s.default) > 1:
            raise TypeError(f"plugin {cls.name!r} marks more than one default tool")
        for spec in specs.values():
            handler = spec.batch.handler if spec.batch is not None else None
            if handler is not None and not callable(getattr(cls, handler, None)):
                raise TypeError(
                    f"tool {cls.name}.{spec.name} names batch handler {handler!r}, "
                    "which the plugin does not define"
                )
            if spec.batch is not None and spec.is_async:
                raise TypeError(f"tool {cls.name}.{spec.name}: async tools cannot batch")
            for label, schema in (("input", spec.input_schema), ("output", spec.output_schema)):
                if not isinstance(schema, dict) or schema.get("type", "object") != "object":
                    raise TypeError(
                        f"tool {cls.name}.{spec.name}: {label} schema must be a JSON object schema"
                    )
