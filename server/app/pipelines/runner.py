"""Running a planned pipeline: every step is one governed ``PluginManagementService.run``.

Each tool call goes through ToolRunner (validated, isolated, timed, counted, enveloped),
exactly as a direct call would; the pipeline adds only the plumbing between steps, and
what fan-out needs: a :class:`~app.pipelines.budget.RunBudget` bounds the run's regions and
calls and paces them at the caller's request rate. The first failing step ends the run with
that step's envelope, ``details.step`` naming it (and ``details.region`` the region, in a
``for_each`` step). A cancelled call context (the client went away) stops the run before
its next call and cancels the call in flight.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import time
from collections.abc import Iterator
from typing import Any

from PIL import Image, ImageOps

from app.errors import ErrorCode, build_envelope
from app.inputs.resolver import ResolvedImage
from app.pipelines.budget import PipelineLimits, RunBudget
from app.pipelines.plan import Plan, PlannedStep
from app.pipelines.regions import crop, find_regions, rebase
from app.plugins import images
from app.plugins.base import InvalidInput
from app.plugins.runtime.executor import CallContext, call_context, current_call_context
from app.services.plugin_management_service import PluginManagementService
from app.tracing import spans as tracing

Outcome = tuple[dict[str, Any], dict[str, Any]]


class PipelineRunner:
    def __init__(self, plugins: PluginManagementService, limits: PipelineLimits) -> None:
        self._plugins = plugins
        self._limits = limits

    def run(self, plan: Plan, image: ResolvedImage | None) -> Outcome:
        """``(result, {})`` with every step's output and timing, or ``({}, envelope)``."""
        if not tracing.enabled():
            return self._run(plan, image)
        with tracing.span("visor.pipeline", {"visor.pipeline.name": str(plan.spec.name or "")}):
            return self._run(plan, image)

    def _run(self, plan: Plan, image: ResolvedImage | None) -> Outcome:
        started = time.perf_counter()
        parent = current_call_context()
        budget = RunBudget(self._limits, parent.cancel_event if parent is not None else None)
        run = _Run(self._plugins, image, budget)
        timings: dict[str, float] = {}
        for index, planned in enumerate(plan.steps):
            if parent is not None and parent.cancelled:
                return {}, _cancelled(planned.step.id)
            step_started = time.perf_counter()
            with (
                tracing.span("visor.pipeline.step", _step_attributes(planned, index)) as span,
                _step_context(parent, index, len(plan.steps), planned.step.id),
            ):
                output, error = run.step(planned)
                if span is not None and error:
                    span.set_attribute("visor.error.code", error["error"]["details"].get("code"))
            timings[planned.step.id] = round((time.perf_counter() - step_started) * 1000, 3)
            if error:
                return {}, error
            run.outputs[planned.step.id] = output
        return {
            "pipeline": plan.spec.name,
            "steps": run.outputs,
            "timings_ms": timings,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
        }, {}


class _Run:
    """The state of one run: the input image and the outputs so far."""

    def __init__(
        self, plugins: PluginManagementService, image: ResolvedImage | None, budget: RunBudget
    ) -> None:
        self._plugins = plugins
        self._image = image
        self._budget = budget
        self._decoded: Image.Image | None = None
        self.outputs: dict[str, Any] = {}

    def step(self, planned: PlannedStep) -> tuple[Any, dict[str, Any]]:
        step = planned.step
        args = dict(step.args)
        for name, ref in step.args_from.items():
            found, value = self._lookup(ref)
            if not found:
                return None, _failed(step.id, f"args_from {name!r}: {ref!r} is not in the result")
            args[name] = value
        if step.for_each is None:
            refused = self._budget.admit(step.id, 1) or self._budget.pay(step.id)
            if refused:
                return None, refused
            payload = {**args, **self._image_fields(planned)}
            result, error = self._plugins.run(planned.plugin, payload, planned.tool)
            return result, _tagged(error, step.id)
        found, source = self._lookup(step.for_each)
        if not found:
            return None, _failed(step.id, f"for_each: {step.for_each!r} is not in the result")
        try:
            picture = self._picture()
        except InvalidInput as exc:
            return None, _failed(step.id, exc.message)
        regions = find_regions(source)
        refused = self._budget.admit(step.id, len(regions), regions=True)
        if refused:
            return None, refused
        items = []
        for index, region in enumerate(regions):
            cropped = crop(picture, region["box"], step.padding)
            if cropped is None:
                continue  # a box wholly outside the image: nothing to look at
            refused = self._budget.pay(step.id)
            if refused:
                return None, _tagged(refused, step.id, region=index)
            png, (x, y, w, h) = cropped
            payload = {**args, "image": base64.b64encode(png).decode("ascii")}
            result, error = self._plugins.run(planned.plugin, payload, planned.tool)
            if error:
                return None, _tagged(error, step.id, region=index)
            items.append(
                {
                    "box": list(region["box"]),
                    "crop": [x, y, w, h],
                    "result": rebase(result, (x, y), picture.size),
                }
            )
        return items, {}

    def _image_fields(self, planned: PlannedStep) -> dict[str, Any]:
        if self._image is None or "image" not in planned.spec.input_schema.get("properties", {}):
            return {}
        return {"image": self._image.base64()}

    def _picture(self) -> Image.Image:
        """The input image decoded once, upright (EXIF orientation applied), for crops."""
        if self._decoded is None:
            if self._image is None:
                raise InvalidInput("for_each needs the pipeline's input image")
            decoded = images.open_image(self._image.data)
            self._decoded = ImageOps.exif_transpose(decoded) or decoded
        return self._decoded

    def _lookup(self, ref: str) -> tuple[bool, Any]:
        source, _, path = ref.partition(".")
        value: Any = self.outputs.get(source)
        for part in path.split(".") if path else []:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list):  # a for_each step's items: collect the field
                value = [item.get(part) for item in value if isinstance(item, dict)]
            else:
                return False, None
        return True, value


def _step_attributes(planned: PlannedStep, index: int) -> dict[str, str | int] | None:
    if not tracing.enabled():
        return None
    return {
        "visor.pipeline.step": planned.step.id,
        "visor.pipeline.index": index,
        "visor.plugin": planned.plugin,
        "visor.tool": planned.tool or "",
    }


@contextlib.contextmanager
def _step_context(parent: CallContext | None, index: int, count: int, step: str) -> Iterator[None]:
    """Run one step with the caller's call context, its progress mapped into the step's
    share of the run: step ``index`` of ``count`` covers ``[index/count, (index+1)/count]``,
    so progress over the whole pipeline only grows (MCP requires it; jobs show it)."""
    report = parent.progress if parent is not None else None
    if parent is None or report is None:
        yield
        return
    report(index / count, f"step {step}")

    def scaled(fraction: float, message: str | None) -> None:
        share = min(max(fraction, 0.0), 1.0)
        report((index + share) / count, f"step {step}: {message}" if message else f"step {step}")

    child = CallContext(
        call_id=parent.call_id,
        progress=scaled,
        cancel_event=parent.cancel_event,  # cancelling the run cancels the step's call
        timeout_s=parent.timeout_s,
        max_result_bytes=parent.max_result_bytes,
    )
    with call_context(child):
        yield


def _cancelled(step: str) -> dict[str, Any]:
    return build_envelope(
        ErrorCode.CANCELLED, f"cancelled before step {step!r}", details={"step": step}
    )


def _tagged(error: dict[str, Any], step: str, **extra: Any) -> dict[str, Any]:
    """A step's envelope with ``details.step`` (a copy: the caller's stays untouched)."""
    if not error:
        return error
    tagged = copy.deepcopy(error)
    tagged["error"]["details"].update(step=step, **extra)
    return tagged


def _failed(step: str, message: str) -> dict[str, Any]:
    return build_envelope(
        ErrorCode.INVALID_INPUT, f"step {step!r}: {message}", details={"step": step}
    )
