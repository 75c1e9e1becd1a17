"""SourceService: the API-facing side of sources and webhooks, and their wiring.

At create it checks what is cheap and certain — the tool or pipeline exists and takes an
image, the args fit, a file lies under ``VISOR_INPUT_ROOTS``, the caller is within its
source quotas — and writes the row; the manager of some server claims and runs it. A URL
that does not answer, or answers with something that is not video, fails the source with
the reason (``GET /v1/sources/{id}`` shows it) and nothing keeps running.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from app.auth.index import Refusal
from app.auth.principal import current_principal, owner_filter, owner_of_new_records
from app.auth.quotas import retry_after
from app.auth.service import AuthService
from app.errors import ErrorCode, VisorError, build_envelope
from app.jobs.events import JobEvents
from app.pipelines.plan import plan
from app.pipelines.service import PIPELINE_JOB_PLUGIN, PipelineService
from app.plugins.runtime.validation import summarise, validator_for
from app.services.job_management_service import JobManagementService
from app.services.plugin_management_service import PluginManagementService
from app.settings import Settings
from app.sources.delivery import Deliverer, DeliveryOptions
from app.sources.manager import ManagerOptions, SourceManager, stats_of
from app.sources.models import Source, SourceRequest, SourceState
from app.sources.outbox import Delivery, Outbox, Webhook, WebhookRequest
from app.sources.runner import Refused, RunOptions, redacted
from app.sources.store import SourceStore
from app.video.models import VIDEO_JOB_PLUGIN, PipelineTarget, ToolTarget
from app.video.targets import FrameTarget, PipelineFrames, ToolFrames

_IMAGE_FIELDS = {"image", "image_ref", "image_url", "image_path", "mime_type"}
_PLACEHOLDER_PNG = "iVBORw0KGgo="


def _refuse(message: str, field: str, **details: Any) -> VisorError:
    return VisorError(message, code=ErrorCode.INVALID_INPUT, details={"field": field, **details})


class SourceService:
    def __init__(
        self,
        jobs: JobManagementService,
        plugins: PluginManagementService,
        pipelines: PipelineService,
        auth: AuthService | None,
        *,
        input_roots: list[Path],
        sink_dir: Path,
        max_total: int = 16,
        max_per_key: int = 4,
        manager: ManagerOptions | None = None,
        run: RunOptions | None = None,
        delivery: DeliveryOptions | None = None,
    ) -> None:
        self._jobs = jobs
        self._plugins = plugins
        self._pipelines = pipelines
        self._auth = auth
        self._roots = [Path(os.path.realpath(r)) for r in input_roots]
        self._max_total = max_total
        self._max_per_key = max_per_key
        self.store = SourceStore(jobs.store.engine)
        self.outbox = Outbox(jobs.store.engine)
        self.deliverer = Deliverer(self.outbox, delivery)
        self.manager = SourceManager(
            self.store,
            self.outbox,
            self.deliverer,
            target_for=self._target_for,
            admit=self._admit,
            resolve_path=self._resolve_path,
            sink_dir=sink_dir,
            options=manager,
            run_options=run,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        jobs: JobManagementService,
        plugins: PluginManagementService,
        pipelines: PipelineService,
        auth: AuthService | None,
    ) -> SourceService:
        return cls(
            jobs,
            plugins,
            pipelines,
            auth,
            input_roots=list(settings.input_roots),
            sink_dir=settings.data_dir / "sinks",
            max_total=settings.sources_max_total,
            max_per_key=settings.sources_max_per_key,
            manager=ManagerOptions(
                max_running=settings.sources_max_running,
                lease_s=settings.sources_lease_s,
            ),
            run=RunOptions(
                max_pixels=settings.max_image_pixels,
                decoder_memory_mb=settings.video_decoder_memory_mb or None,
                reconnect_min_s=settings.sources_reconnect_min_s,
                reconnect_max_s=settings.sources_reconnect_max_s,
            ),
            delivery=DeliveryOptions(
                max_attempts=settings.webhook_max_attempts,
                backoff_s=settings.webhook_backoff_s,
                timeout_s=settings.webhook_timeout_s,
                # The same SSRF rules as image_url: public addresses, plus the networks the
                # operator trusts there.
                allow_networks=tuple(
                    ipaddress.ip_network(n, strict=False) for n in settings.url_input_allow_networks
                ),
            ),
        )

    def start(self, job_events: JobEvents | None = None) -> None:
        self.manager.start(job_events)

    def stop(self) -> None:
        self.manager.stop()

    # -- sources ----------------------------------------------------------------------------

    def create(self, request: SourceRequest) -> Source:
        self._target_for(request)  # the tool or pipeline exists and fits (else 4xx)
        if request.path is not None:
            self._resolve_path(request.path)
        self._check_quota()
        source = self.store.create(
            request.model_dump(mode="json"), request.name, owner_of_new_records()
        )
        self.manager.wake()
        return self._public(source)

    def sources(self) -> list[Source]:
        return [self._public(s) for s in self.store.all(owner_filter())]

    def get(self, source_id: str) -> Source:
        return self._public(self.store.get(source_id, owner_filter()))

    def set_state(self, source_id: str, state: SourceState) -> Source:
        current = self.store.get(source_id, owner_filter())
        if state is SourceState.RUNNING:
            if current.state is not SourceState.RUNNING:
                self._check_quota()
            self.store.set_state(
                source_id,
                state,
                only_from={
                    SourceState.PAUSED,
                    SourceState.RUNNING,
                    SourceState.FAILED,
                    SourceState.STOPPED,
                },
            )
        else:
            self.store.set_state(source_id, state)
        run = self.manager.run_of(source_id)
        if run is not None and state is not SourceState.RUNNING:
            run.stop()
        self.manager.wake()
        return self.get(source_id)

    def preview(self, source_id: str) -> bytes | None:
        """The newest processed frame (JPEG) if this server runs the source."""
        self.store.get(source_id, owner_filter())
        run = self.manager.run_of(source_id)
        return run.latest_jpeg if run is not None else None

    def _public(self, source: Source) -> Source:
        spec = dict(source.spec)
        spec["url"] = redacted(spec.get("url"))
        stats = stats_of(self.manager.run_of(source.id), source.stats)
        return source.model_copy(update={"spec": spec, "stats": stats})

    def _check_quota(self) -> None:
        if self.store.count_running() >= self._max_total:
            raise VisorError(
                f"this server runs at most {self._max_total} sources (VISOR_SOURCES_MAX_TOTAL)",
                code=ErrorCode.OVERLOADED,
                details={"reason": "sources_total", "limit": self._max_total},
            )
        principal = current_principal()
        if (
            principal is not None
            and self.store.count_running(principal.key_id) >= self._max_per_key
        ):
            raise VisorError(
                f"key {principal.key_id} runs {self._max_per_key} sources already "
                "(VISOR_SOURCES_MAX_PER_KEY); stop or pause one first",
                code=ErrorCode.RATE_LIMITED,
                details={"reason": "sources_per_key", "limit": self._max_per_key},
            )

    # -- what runs on each frame ------------------------------------------------------------

    def _target_for(self, request: SourceRequest) -> FrameTarget:
        if request.pipeline is not None:
            saved = self._pipelines.store.get(request.pipeline).spec
            plan(saved, self._plugins.registry)
            target = PipelineTarget(pipeline=request.pipeline, spec=saved.model_dump(mode="json"))
            return PipelineFrames(self._pipelines, target)
        assert request.plugin is not None
        if request.plugin in (VIDEO_JOB_PLUGIN, PIPELINE_JOB_PLUGIN):
            raise _refuse(
                f"{request.plugin!r} is not a tool; name a plugin or a pipeline", "plugin"
            )
        tool, spec = self._jobs.resolve_tool(request.plugin, request.tool)
        properties = spec.input_schema.get("properties") or {}
        if properties and "image" not in properties:
            raise _refuse(
                f"{request.plugin}.{tool} takes no image, so it cannot run on frames", "plugin"
            )
        given = _IMAGE_FIELDS.intersection(request.args)
        if given:
            raise _refuse(f"args may not set {sorted(given)}: each frame is the image", "args")
        instance = {**request.args, "image": _PLACEHOLDER_PNG} if properties else request.args
        problems = validator_for(spec.input_schema).errors(instance)
        if problems:
            raise _refuse(f"args do not fit {request.plugin}.{tool}: {summarise(problems)}", "args",
                          errors=problems)  # fmt: skip
        return ToolFrames(
            self._plugins, ToolTarget(plugin=request.plugin, tool=tool, args=request.args)
        )

    def _resolve_path(self, value: str) -> Path:
        if not self._roots:
            raise _refuse(
                "file sources are disabled on this server (set VISOR_INPUT_ROOTS)", "path"
            )
        candidate = Path(value).expanduser()
        if not candidate.is_absolute():
            candidate = self._roots[0] / candidate
        real = Path(os.path.realpath(candidate))
        if not any(real == root or real.is_relative_to(root) for root in self._roots):
            raise _refuse("path is outside the allowed input directories", "path")
        if not real.is_file():
            raise _refuse("path does not exist or is not a file", "path")
        return real

    def _admit(self, owner: str | None) -> dict[str, Any]:
        """Each frame is one request of the owner key: its rate; a key that no longer
        authenticates ends the source."""
        if owner is None or self._auth is None:
            return {}
        found = self._auth.index.principal_of(owner)
        if isinstance(found, Refusal):
            raise Refused(
                build_envelope(
                    ErrorCode.UNAUTHORIZED,
                    f"the source's API key no longer authenticates: {found.value}",
                    details={"reason": "credential_lost"},
                )
            )
        wait = found.requests.take()
        if wait <= 0:
            return {}
        return build_envelope(
            ErrorCode.RATE_LIMITED,
            f"key {found.key_id} is over its request rate",
            details={"retry_after_s": retry_after(wait)},
        )

    # -- webhooks ---------------------------------------------------------------------------

    def create_webhook(self, request: WebhookRequest) -> Webhook:
        return self.outbox.create(request, owner_of_new_records())

    def list_webhooks(self) -> list[Webhook]:
        return self.outbox.webhooks(owner_filter())

    def delete_webhook(self, webhook_id: str) -> None:
        self.outbox.delete(webhook_id, owner_filter())

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[Delivery]:
        self.outbox.get(webhook_id, owner_filter())
        return self.outbox.deliveries(webhook_id, limit)
