"""Live streams over a WebSocket (``/v1/streams/{plugin}/{tool}``; docs/streams.md).

Frames go out as binary messages; each processed frame comes back as a JSON answer
(:class:`~visor_client.models.StreamAnswer`). The server keeps one frame in flight and one
pending (latest wins), so a sender faster than the tool gets answers for the newest frames
with a growing ``dropped``; :meth:`Stream.process` sends the next frame only after the
previous answer, so every frame is answered. A refusal (unknown tool, bad args, too many
streams, a revoked key) raises the envelope's :class:`~visor_client.errors.VisorError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AsyncExitStack, ExitStack

from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from visor_client.errors import (
    VisorConnectionError,
    VisorError,
    VisorTimeout,
    error_class,
    error_from_envelope,
)
from visor_client.images import ImageInput, image_bytes
from visor_client.models import StreamAnswer


def _answer(message: str | bytes) -> StreamAnswer:
    body = json.loads(message)
    if "error" in body and "frame" not in body:  # the stream itself was refused
        raise error_from_envelope(body)
    return StreamAnswer.model_validate(body)


def _refused(url: str, exc: Exception) -> VisorError:
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        try:
            return error_from_envelope(json.loads(exc.response.body or b""), status)
        except ValueError:
            code = {401: "unauthorized", 403: "forbidden"}.get(status, "stream_refused")
            return error_class(code, status)(
                f"the server refused the stream at {url} (HTTP {status})", code=code, status=status
            )
    return VisorConnectionError(f"cannot open the stream at {url}: {type(exc).__name__}: {exc}")


def _closed(exc: ConnectionClosed) -> VisorError:
    rcvd = exc.rcvd
    reason = f": {rcvd.reason}" if rcvd is not None and rcvd.reason else ""
    return VisorConnectionError(
        f"the stream was closed ({rcvd.code if rcvd else 'no close frame'}){reason}"
    )


class Stream:
    """A live stream (sync). Use it as a context manager; iterate it for answers."""

    def __init__(self, url: str, headers: dict[str, str], open_timeout_s: float | None) -> None:
        self.url = url
        self._stack = ExitStack()  # websockets wants its connection used as a context manager
        try:
            self._ws: ClientConnection = self._stack.enter_context(
                connect(url, additional_headers=headers, open_timeout=open_timeout_s)
            )
        except (InvalidStatus, OSError, TimeoutError) as exc:
            raise _refused(url, exc) from exc

    def send(self, frame: ImageInput) -> None:
        """Send one frame (JPEG or PNG bytes, a path, a PIL image or a numpy array)."""
        data, _ = image_bytes(frame)
        try:
            self._ws.send(data)
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    def receive(self, timeout: float | None = None) -> StreamAnswer:
        """The next answer; :class:`VisorError` if the stream was refused or closed."""
        try:
            return _answer(self._ws.recv(timeout))
        except ConnectionClosed as exc:
            raise _closed(exc) from exc
        except TimeoutError as exc:
            raise VisorTimeout(f"no answer on the stream within {timeout} s") from exc

    def process(
        self, frames: Iterable[ImageInput], timeout: float | None = None
    ) -> Iterator[StreamAnswer]:
        """Each frame's answer in turn: one frame in flight, none dropped."""
        for frame in frames:
            self.send(frame)
            yield self.receive(timeout)

    def __iter__(self) -> Iterator[StreamAnswer]:
        """Answers as they come, until the stream closes."""
        while True:
            try:
                message = self._ws.recv()
            except ConnectionClosedOK:
                return
            except ConnectionClosed as exc:
                raise _closed(exc) from exc
            yield _answer(message)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStream:
    """A live stream (async): ``async with`` it; ``async for`` its answers."""

    def __init__(
        self,
        url: Callable[[], Awaitable[str]],
        headers: dict[str, str],
        open_timeout_s: float | None,
    ) -> None:
        self._url = url
        self.url = ""
        self._headers = headers
        self._open_timeout_s = open_timeout_s
        self._ws: AsyncConnection | None = None
        self._stack = AsyncExitStack()

    async def open(self) -> AsyncStream:
        self.url = await self._url()
        try:
            self._ws = await self._stack.enter_async_context(
                async_connect(
                    self.url, additional_headers=self._headers, open_timeout=self._open_timeout_s
                )
            )
        except (InvalidStatus, OSError, TimeoutError) as exc:
            raise _refused(self.url, exc) from exc
        return self

    @property
    def _socket(self) -> AsyncConnection:
        if self._ws is None:
            raise RuntimeError("the stream is not open: use `async with visor.stream(...) as s`")
        return self._ws

    async def send(self, frame: ImageInput) -> None:
        data, _ = image_bytes(frame)
        try:
            await self._socket.send(data)
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def receive(self, timeout: float | None = None) -> StreamAnswer:
        try:
            async with asyncio.timeout(timeout):
                return _answer(await self._socket.recv())
        except ConnectionClosed as exc:
            raise _closed(exc) from exc
        except TimeoutError as exc:
            raise VisorTimeout(f"no answer on the stream within {timeout} s") from exc

    async def process(
        self, frames: Iterable[ImageInput] | AsyncIterable[ImageInput], timeout: float | None = None
    ) -> AsyncIterator[StreamAnswer]:
        if isinstance(frames, AsyncIterable):
            async for frame in frames:
                await self.send(frame)
                yield await self.receive(timeout)
        else:
            for frame in frames:
                await self.send(frame)
                yield await self.receive(timeout)

    async def __aiter__(self) -> AsyncIterator[StreamAnswer]:
        while True:
            try:
                message = await self._socket.recv()
            except ConnectionClosedOK:
                return
            except ConnectionClosed as exc:
                raise _closed(exc) from exc
            yield _answer(message)

    async def close(self) -> None:
        await self._stack.aclose()

    async def __aenter__(self) -> AsyncStream:
        return self if self._ws is not None else await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
