"""``AsyncVisor``: :class:`~visor_client.client.Visor`'s methods, awaited (iterators are
async iterators). Each method's documentation is the sync method's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
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
from visor_client._streams import AsyncStream
from visor_client.client import Visor
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


class AsyncVisor:
    """The asynchronous client: ``async with AsyncVisor(url) as visor: await visor.analyze(...)``.
    Same arguments and defaults as :class:`~visor_client.client.Visor`."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | None = 120.0,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = base_url(url)
        self.retry = retry or RetryPolicy()
        self._headers = auth_headers(api_key)
        self._timeout = http_timeout(timeout, connect_timeout)
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=self._headers, timeout=self._timeout, transport=transport
        )

    async def health(self) -> dict[str, Any]:
        body: dict[str, Any] = await self._send(_calls.get("/v1/health"))
        return body

    async def ready(self) -> dict[str, Any]:
        body: dict[str, Any] = await self._send(_calls.get("/v1/ready"))
        return body

    async def plugins(self) -> list[Plugin]:
        body = await self._send(_calls.get("/v1/plugins"))
        return [Plugin.model_validate(p) for p in body["plugins"]]

    async def plugin(self, name: str) -> Manifest:
        return Manifest.model_validate(
            await self._send(_calls.get(_calls.path("/v1/plugins", name)))
        )

    async def plugin_health(self, name: str) -> Plugin:
        body = await self._send(_calls.get(_calls.path("/v1/plugins", name) + "/health"))
        return Plugin.model_validate(body)

    async def reload_plugins(self) -> list[Plugin]:
        body = await self._send(Call("POST", "/v1/plugins/reload", resendable=False))
        return [Plugin.model_validate(p) for p in body["plugins"]]

    async def analyze(
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
        return Result.from_body(await self._send(call))

    async def upload(self, file: ImageInput) -> FileInfo:
        return FileInfo.model_validate(await self._send(_calls.upload_file(file)))

    async def files(self) -> FileList:
        return FileList.model_validate(await self._send(_calls.get("/v1/files")))

    async def file(self, file_id: str) -> FileInfo:
        return FileInfo.model_validate(
            await self._send(_calls.get(_calls.path("/v1/files", file_id)))
        )

    async def delete_file(self, file_id: str | FileInfo) -> FileInfo:
        ref = file_id.id if isinstance(file_id, FileInfo) else file_id
        return FileInfo.model_validate(
            await self._send(_calls.delete(_calls.path("/v1/files", ref)))
        )

    async def submit_job(
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
        return await self._job(call)

    async def job(self, job: JobRef) -> Job:
        return Job.model_validate(
            await self._send(_calls.get(_calls.path("/v1/jobs", job_id(job))))
        )

    async def job_result(self, job: JobRef) -> Result:
        body = await self._send(_calls.get(_calls.path("/v1/jobs", job_id(job)) + "/result"))
        return Result.from_body(body)

    async def cancel_job(self, job: JobRef) -> Job:
        call = _calls.delete(_calls.path("/v1/jobs", job_id(job)), resendable=True)
        return Job.model_validate(await self._send(call))

    async def jobs(
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
        return JobPage.model_validate(await self._send(call))

    async def iter_jobs(
        self,
        *,
        status: str | None = None,
        plugin: str | None = None,
        tool: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        page_size: int = 50,
        results: bool = True,
    ) -> AsyncIterator[Job]:
        cursor: str | None = None
        while True:
            page = await self.jobs(
                status=status,
                plugin=plugin,
                tool=tool,
                created_after=created_after,
                created_before=created_before,
                limit=page_size,
                cursor=cursor,
                results=results,
            )
            for job in page.jobs:
                yield job
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def job_events(
        self, job: JobRef, *, timeout: float | None = None
    ) -> AsyncIterator[JobEvent]:
        deadline = None if timeout is None else time.monotonic() + timeout
        attempt = 0
        while True:
            try:
                async for event in self._events_once(job, deadline):
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
                await asyncio.sleep(delay)
                attempt += 1

    async def _events_once(self, job: JobRef, deadline: float | None) -> AsyncIterator[JobEvent]:
        timeout = stream_timeout(self._timeout, deadline)
        async with self._http.stream("GET", events_path(job), timeout=timeout) as response:
            if not response.is_success:
                await response.aread()
                answer(response)
            parser = SSEParser()
            async for line in response.aiter_lines():
                if deadline is not None and time.monotonic() > deadline:
                    raise VisorTimeout(f"job {job_id(job)} did not finish in time")
                found = parser.feed(line)
                if found is not None:
                    yield event_of(*found)

    async def wait_job(
        self,
        job: JobRef,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Job], None] | None = None,
    ) -> Job:
        async for event in self.job_events(job, timeout=timeout):
            if on_progress is not None:
                on_progress(event.job)
            if event.job.done:
                return event.job
        return await self.job(job)

    async def pipelines(self) -> list[Pipeline]:
        body = await self._send(_calls.get("/v1/pipelines"))
        return [Pipeline.model_validate(p) for p in body["pipelines"]]

    async def pipeline(self, name: str) -> Pipeline:
        return Pipeline.model_validate(
            await self._send(_calls.get(_calls.path("/v1/pipelines", name)))
        )

    async def save_pipeline(self, spec: dict[str, Any] | str | bytes) -> Pipeline:
        return Pipeline.model_validate(await self._send(_calls.save_pipeline(spec)))

    async def delete_pipeline(self, name: str) -> Pipeline:
        return Pipeline.model_validate(
            await self._send(_calls.delete(_calls.path("/v1/pipelines", name)))
        )

    async def run_pipeline(
        self,
        pipeline: str | dict[str, Any],
        image: ImageInput = None,
        *,
        image_ref: str | FileInfo | None = None,
        image_url: str | None = None,
        image_path: str | None = None,
        mime_type: str | None = None,
    ) -> PipelineResult:
        call = _calls.run_pipeline(
            pipeline,
            image,
            image_ref=image_ref,
            image_url=image_url,
            image_path=image_path,
            mime_type=mime_type,
        )
        body = await self._send(call)
        return PipelineResult.model_validate({**body, "raw": body})

    async def submit_video(
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
        return await self._job(call)

    def stream(
        self,
        plugin: str,
        tool: str | None = None,
        *,
        args: dict[str, Any] | None = None,
        **tool_args: Any,
    ) -> AsyncStream:
        """Open a live stream of frames to a tool: ``async with visor.stream("barcode") as s:
        async for answer in s.process(frames): ...`` (see :meth:`Visor.stream`)."""
        query = {**(args or {}), **tool_args}

        async def url() -> str:
            name = tool if tool is not None else (await self.plugin(plugin)).default_tool or ""
            return ws_url(self.url, _calls.path("/v1/streams", plugin, name), query)

        return AsyncStream(url, self._headers, self._timeout.connect)

    async def keys(self) -> list[ApiKey]:
        return [
            ApiKey.model_validate(k) for k in (await self._send(_calls.get("/v1/keys")))["keys"]
        ]

    async def create_key(
        self,
        name: str,
        scope: str = "run",
        *,
        expires_days: float | None = None,
        rate_per_s: float | None = None,
        burst: int | None = None,
        max_concurrent: int | None = None,
    ) -> KeyCreated:
        quotas = {"rate_per_s": rate_per_s, "burst": burst, "max_concurrent": max_concurrent}
        return KeyCreated.model_validate(
            await self._send(_calls.create_key(name, scope, expires_days, quotas))
        )

    async def revoke_key(self, name: str) -> ApiKey:
        return ApiKey.model_validate(await self._send(_calls.delete(_calls.path("/v1/keys", name))))

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncVisor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _job(self, call: Call) -> Job:
        response = await self._response(call)
        job = Job.model_validate(answer(response))
        if response.headers.get(REPLAYED_HEADER) == "true":
            job = job.model_copy(update={"replayed": True})
        return job

    async def _send(self, call: Call) -> Any:
        return answer(await self._response(call))

    async def _response(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            with ExitStack() as stack:
                try:
                    response = await self._http.request(
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
            await asyncio.sleep(delay)
            attempt += 1


def _share_docs() -> None:
    for name, member in vars(AsyncVisor).items():
        if callable(member) and not name.startswith("_") and member.__doc__ is None:
            member.__doc__ = getattr(Visor, name).__doc__


_share_docs()
