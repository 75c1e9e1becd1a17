"""``Visor``: the synchronous client. :mod:`visor_client.aio` has ``AsyncVisor``, the same
methods awaited."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx

from visor_client import _calls
from visor_client._core import (
    REPLAYED_HEADER,
    Call,
    RetryPolicy,
    SSEParser,
    answer,
    auth_headers,
    base_url,
    http_timeout,
    transport_error,
    ws_url,
)
from visor_client._jobs import JobRef, event_of, events_path, job_id, stream_timeout
from visor_client._streams import Stream
from visor_client.errors import VisorTimeout
from visor_client.images import ImageInput
from visor_client.models import (
    ApiKey,
    FileInfo,
    FileList,
    Job,
    JobEvent,
    JobPage,
    KeyCreated,
    Manifest,
    Pipeline,
    PipelineResult,
    Plugin,
    Result,
)


class Visor:
    """A client for one Visor server.

    ``url`` defaults to ``VISOR_URL``, then ``http://127.0.0.1:8000`` (``host:port`` is
    enough); ``api_key`` to ``VISOR_API_KEY`` (none: an open local server). ``timeout`` is
    the longest wait for one answer, in seconds (``None``: no limit); ``retry`` says when
    ``overloaded``/``rate_limited`` answers and dropped connections are retried.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | None = 120.0,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = base_url(url)
        self.retry = retry or RetryPolicy()
        self._headers = auth_headers(api_key)
        self._timeout = http_timeout(timeout, connect_timeout)
        self._http = httpx.Client(
            base_url=self.url, headers=self._headers, timeout=self._timeout, transport=transport
        )

    # -- server -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Liveness: ``{"status": "ok"}`` while the server runs."""
        body: dict[str, Any] = self._send(_calls.get("/v1/health"))
        return body

    def ready(self) -> dict[str, Any]:
        """Readiness: raises :class:`~visor_client.errors.Overloaded` (503) until ready."""
        body: dict[str, Any] = self._send(_calls.get("/v1/ready"))
        return body

    # -- plugins ----------------------------------------------------------------------------

    def plugins(self) -> list[Plugin]:
        """Every installed plugin with its state, reason and metrics."""
        return [Plugin.model_validate(p) for p in self._send(_calls.get("/v1/plugins"))["plugins"]]

    def plugin(self, name: str) -> Manifest:
        """A plugin's manifest: its tools, default tool, input and output schemas."""
        return Manifest.model_validate(self._send(_calls.get(_calls.path("/v1/plugins", name))))

    def plugin_health(self, name: str) -> Plugin:
        """One plugin's health and execution metrics."""
        body = self._send(_calls.get(_calls.path("/v1/plugins", name) + "/health"))
        return Plugin.model_validate(body)

    def reload_plugins(self) -> list[Plugin]:
        """Rediscover and restart every plugin (admin key)."""
        body = self._send(Call("POST", "/v1/plugins/reload", resendable=False))
        return [Plugin.model_validate(p) for p in body["plugins"]]

    # -- analyze ----------------------------------------------------------------------------

    def analyze(
        self,
        plugin: str,
        image: ImageInput = None,
        tool: str | None = None,
        *,
        image_ref: str | FileInfo | None = None,
        image_url: str | None = None,
        image_path: str | None = None,
        mime_type: str | None = None,
        render: bool = False,
        args: dict[str, Any] | None = None,
        **tool_args: Any,
    ) -> Result:
        """Run a tool on an image and return its :class:`~visor_client.models.Result`.

        ``image`` is bytes, a local path, an ``http(s)://`` URL (``image_url``), a PIL
        image, a numpy array or an uploaded :class:`~visor_client.models.FileInfo`. Without
        ``tool`` the plugin's default tool runs. The tool's options are keyword arguments
        (``visor.analyze("faces", img, min_size=40)``), or ``args={...}`` for names that
        clash with this method's own. ``render=True`` adds the findings drawn over the
        image (``result.rendered_image``).
        """
        call = _calls.analyze(
            plugin,
            image,
            tool,
            image_ref=image_ref,
            image_url=image_url,
            image_path=image_path,
            mime_type=mime_type,
            render=render,
            args={**(args or {}), **tool_args},
        )
        return Result.from_body(self._send(call))

    # -- files ------------------------------------------------------------------------------

    def upload(self, file: ImageInput) -> FileInfo:
        """Upload an image (or a video) once; pass the answer as ``image_ref`` many times."""
        return FileInfo.model_validate(self._send(_calls.upload_file(file)))

    def files(self) -> FileList:
        """The caller's uploaded files, with the bytes used and allowed."""
        return FileList.model_validate(self._send(_calls.get("/v1/files")))

    def file(self, file_id: str) -> FileInfo:
        """One uploaded file (its id, type, size, digest and expiry)."""
        return FileInfo.model_validate(self._send(_calls.get(_calls.path("/v1/files", file_id))))

    def delete_file(self, file_id: str | FileInfo) -> FileInfo:
        """Delete an uploaded file now (it also expires by itself)."""
        ref = file_id.id if isinstance(file_id, FileInfo) else file_id
        return FileInfo.model_validate(self._send(_calls.delete(_calls.path("/v1/files", ref))))

    # -- jobs -------------------------------------------------------------------------------

    def submit_job(
        self,
        plugin: str,
        image: ImageInput = None,
        tool: str | None = None,
        *,
        image_ref: str | FileInfo | None = None,
        image_url: str | None = None,
        image_path: str | None = None,
        mime_type: str | None = None,
        max_attempts: int | None = None,
        wait: float | None = None,
        idempotency_key: str | None = None,
        args: dict[str, Any] | None = None,
        **tool_args: Any,
    ) -> Job:
        """Submit a durable job and return it (``PENDING``, or finished with ``wait``).

        Every submit carries an ``Idempotency-Key`` (``idempotency_key``, or a fresh one),
        so a submit resent after a dropped connection gets the job the first attempt made,
        never a second job (``job.replayed`` is then true). ``wait=30`` holds the request
        until the job ends, up to 30 s (and the server's ``VISOR_JOB_MAX_WAIT_S``).
        Pipelines run as jobs too: ``submit_job("pipeline", image, "face-colours")``.
        """
        call = _calls.submit_job(
            plugin,
            image,
            tool,
            image_ref=image_ref,
            image_url=image_url,
            image_path=image_path,
            mime_type=mime_type,
            args={**(args or {}), **tool_args},
            max_attempts=max_attempts,
            wait=wait,
            idempotency_key=idempotency_key,
            timeout=self._timeout,
        )
        return self._job(call)

    def job(self, job: JobRef) -> Job:
        """A job as it is now (status, progress, result or error)."""
        return Job.model_validate(self._send(_calls.get(_calls.path("/v1/jobs", job_id(job)))))

    def job_result(self, job: JobRef) -> Result:
        """A finished job's result; raises its error (the envelope's exception), or
        :class:`~visor_client.errors.JobNotFinished` while it runs."""
        return Result.from_body(
            self._send(_calls.get(_calls.path("/v1/jobs", job_id(job)) + "/result"))
        )

    def cancel_job(self, job: JobRef) -> Job:
        """Cancel a PENDING or RUNNING job (a running tool is stopped)."""
        call = _calls.delete(_calls.path("/v1/jobs", job_id(job)), resendable=True)
        return Job.model_validate(self._send(call))

    def jobs(
        self,
        *,
        status: str | None = None,
        plugin: str | None = None,
        tool: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        results: bool = True,
    ) -> JobPage:
        """One page of jobs, newest first; pass ``page.next_cursor`` as ``cursor`` for the
        next (or use :meth:`iter_jobs`). ``results=False`` leaves results out (lighter)."""
        call = _calls.list_jobs(
            status=status,
            plugin=plugin,
            tool=tool,
            created_after=created_after,
            created_before=created_before,
            limit=limit,
            cursor=cursor,
            results=results,
        )
        return JobPage.model_validate(self._send(call))

    def iter_jobs(
        self,
        *,
        status: str | None = None,
        plugin: str | None = None,
        tool: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        page_size: int = 50,
        results: bool = True,
    ) -> Iterator[Job]:
        """Every job matching the filters, newest first, fetched page by page."""
        cursor: str | None = None
        while True:
            page = self.jobs(
                status=status,
                plugin=plugin,
                tool=tool,
                created_after=created_after,
                created_before=created_before,
                limit=page_size,
                cursor=cursor,
                results=results,
            )
            yield from page.jobs
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def job_events(self, job: JobRef, *, timeout: float | None = None) -> Iterator[JobEvent]:
        """The job's live events (Server-Sent Events): its status now, then every status and
        progress change, ending after a final status. ``timeout`` bounds the whole wait
        (:class:`~visor_client.errors.VisorTimeout`). A dropped connection is reopened."""
        deadline = None if timeout is None else time.monotonic() + timeout
        attempt = 0
        while True:
            try:
                for event in self._events_once(job, deadline):
                    attempt = 0
                    yield event
                    if event.job.done:
                        return
                return
            except httpx.TimeoutException as exc:
                if deadline is not None:
                    raise VisorTimeout(
                        f"job {job_id(job)} did not finish within {timeout} s"
                    ) from exc
                raise transport_error(self.url, exc) from exc
            except httpx.TransportError as exc:
                delay = self.retry.after_transport_error(_calls.get(""), attempt, exc)
                if delay is None:
                    raise transport_error(self.url, exc) from exc
                time.sleep(delay)
                attempt += 1

    def _events_once(self, job: JobRef, deadline: float | None) -> Iterator[JobEvent]:
        timeout = stream_timeout(self._timeout, deadline)
        with self._http.stream("GET", events_path(job), timeout=timeout) as response:
            if not response.is_success:
                response.read()
                answer(response)
            parser = SSEParser()
            for line in response.iter_lines():
                if deadline is not None and time.monotonic() > deadline:
                    raise VisorTimeout(f"job {job_id(job)} did not finish in time")
                found = parser.feed(line)
                if found is not None:
                    yield event_of(*found)

    def wait_job(
        self,
        job: JobRef,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Job], None] | None = None,
    ) -> Job:
        """Follow a job until it ends and return it finished (``job.output()`` gives its
        :class:`~visor_client.models.Result` or raises its error). ``on_progress`` is called
        with the job on every event (e.g. a video job's ``"frames 12/120"``)."""
        for event in self.job_events(job, timeout=timeout):
            if on_progress is not None:
                on_progress(event.job)
            if event.job.done:
                return event.job
        return self.job(job)  # the stream ended early (a server restart): ask once more

    # -- pipelines --------------------------------------------------------------------------

    def pipelines(self) -> list[Pipeline]:
        """The saved pipelines."""
        body = self._send(_calls.get("/v1/pipelines"))
        return [Pipeline.model_validate(p) for p in body["pipelines"]]

    def pipeline(self, name: str) -> Pipeline:
        """A saved pipeline and its spec."""
        return Pipeline.model_validate(self._send(_calls.get(_calls.path("/v1/pipelines", name))))

    def save_pipeline(self, spec: dict[str, Any] | str | bytes) -> Pipeline:
        """Save (or replace) a pipeline: a dict, or JSON or YAML text as written."""
        return Pipeline.model_validate(self._send(_calls.save_pipeline(spec)))

    def delete_pipeline(self, name: str) -> Pipeline:
        """Delete a saved pipeline (admin key); returns it as it was."""
        return Pipeline.model_validate(
            self._send(_calls.delete(_calls.path("/v1/pipelines", name)))
        )

    def run_pipeline(
        self,
        pipeline: str | dict[str, Any],
        image: ImageInput = None,
        *,
        image_ref: str | FileInfo | None = None,
        image_url: str | None = None,
        image_path: str | None = None,
        mime_type: str | None = None,
    ) -> PipelineResult:
        """Run a saved pipeline (by name) or an inline spec (a dict) on one image."""
        call = _calls.run_pipeline(
            pipeline,
            image,
            image_ref=image_ref,
            image_url=image_url,
            image_path=image_path,
            mime_type=mime_type,
        )
        body = self._send(call)
        return PipelineResult.model_validate({**body, "raw": body})

    # -- video ------------------------------------------------------------------------------

    def submit_video(
        self,
        video: ImageInput = None,
        plugin: str | None = None,
        tool: str | None = None,
        *,
        video_ref: str | FileInfo | None = None,
        pipeline: str | None = None,
        sample: dict[str, Any] | None = None,
        frames: bool = True,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
        args: dict[str, Any] | None = None,
        **tool_args: Any,
    ) -> Job:
        """Submit a video job: sampled frames (``sample={"fps": 2}``) through a tool or a
        saved ``pipeline``. ``video`` is a path (streamed, never read whole) or bytes, or
        an uploaded file as ``video_ref``. Follow it with :meth:`wait_job` (``on_progress``
        sees ``"frames 12/120"``); ``frames=False`` keeps only the summary."""
        call = _calls.submit_video(
            video,
            video_ref=video_ref,
            plugin=plugin,
            tool=tool,
            pipeline=pipeline,
            args={**(args or {}), **tool_args},
            sample=sample,
            frames=frames,
            max_attempts=max_attempts,
            idempotency_key=idempotency_key,
        )
        return self._job(call)

    # -- streams ----------------------------------------------------------------------------

    def stream(
        self,
        plugin: str,
        tool: str | None = None,
        *,
        args: dict[str, Any] | None = None,
        **tool_args: Any,
    ) -> Stream:
        """Open a live stream of frames to a tool (``stream("pipeline", name)`` for a saved
        pipeline); without ``tool``, the plugin's default tool. Use it as a context manager:
        ``with visor.stream("barcode") as s: for answer in s.process(frames): ...``."""
        if tool is None:
            tool = self.plugin(plugin).default_tool or ""
        url = ws_url(
            self.url, _calls.path("/v1/streams", plugin, tool), {**(args or {}), **tool_args}
        )
        return Stream(url, self._headers, self._timeout.connect)

    # -- keys -------------------------------------------------------------------------------

    def keys(self) -> list[ApiKey]:
        """Every API key: names, scopes, last use; never a secret (admin key)."""
        return [ApiKey.model_validate(k) for k in self._send(_calls.get("/v1/keys"))["keys"]]

    def create_key(
        self,
        name: str,
        scope: str = "run",
        *,
        expires_days: float | None = None,
        rate_per_s: float | None = None,
        burst: int | None = None,
        max_concurrent: int | None = None,
    ) -> KeyCreated:
        """Create a key (``read``, ``run`` or ``admin``); ``created.secret`` is shown once."""
        quotas = {"rate_per_s": rate_per_s, "burst": burst, "max_concurrent": max_concurrent}
        return KeyCreated.model_validate(
            self._send(_calls.create_key(name, scope, expires_days, quotas))
        )

    def revoke_key(self, name: str) -> ApiKey:
        """Revoke the active key with this name."""
        return ApiKey.model_validate(self._send(_calls.delete(_calls.path("/v1/keys", name))))

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Visor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _job(self, call: Call) -> Job:
        response = self._response(call)
        job = Job.model_validate(answer(response))
        if response.headers.get(REPLAYED_HEADER) == "true":
            job = job.model_copy(update={"replayed": True})
        return job

    def _send(self, call: Call) -> Any:
        return answer(self._response(call))

    def _response(self, call: Call) -> httpx.Response:
        """Send ``call``, retrying as :attr:`retry` allows; the last answer."""
        attempt = 0
        while True:
            with ExitStack() as stack:
                try:
                    response = self._http.request(
                        call.method, call.path, **call.request_kwargs(stack)
                    )
                except httpx.TransportError as exc:
                    delay = self.retry.after_transport_error(call, attempt, exc)
                    if delay is None:
                        raise transport_error(self.url, exc) from exc
                else:
                    delay = self.retry.after_response(call, attempt, response)
                    if delay is None:
                        return response
            time.sleep(delay)
            attempt += 1
