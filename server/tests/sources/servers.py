"""Real sources and receivers for the source tests: an HTTP MJPEG camera and a webhook
receiver, both on loopback, written here (standard library only)."""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

from app.sources.signing import verify

BOUNDARY = "visorframe"


def jpeg(number: int, size: tuple[int, int] = (160, 120)) -> bytes:
    image = Image.new("RGB", size, (number * 7 % 256, 90, 160))
    ImageDraw.Draw(image).text((10, 10), str(number), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


class MjpegCamera:
    """``multipart/x-mixed-replace`` JPEG frames at ``fps``. The first connection is cut
    after ``drop_after`` frames (the camera drops); later ones stream until stopped."""

    def __init__(self, fps: float = 20.0, drop_after: int | None = None) -> None:
        camera = self
        self.connections = 0
        self.fps = fps
        self.drop_after = drop_after
        self._stop = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                camera.connections += 1
                first = camera.connections == 1
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace;boundary={BOUNDARY}")
                self.end_headers()
                n = 0
                try:
                    while not camera._stop.is_set():
                        n += 1
                        if first and camera.drop_after is not None and n > camera.drop_after:
                            return  # the camera drops the connection
                        data = jpeg(n)
                        self.wfile.write(
                            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                            f"Content-Length: {len(data)}\r\n\r\n".encode()
                            + data
                            + b"\r\n"
                        )
                        self.wfile.flush()
                        time.sleep(1.0 / camera.fps)
                except (BrokenPipeError, ConnectionResetError):
                    return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/stream.mjpg"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> MjpegCamera:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


class WebhookReceiver:
    """Accepts POSTs, verifying each signature with ``secret`` (set once known); answers
    500 to the first ``fail_first`` attempts."""

    def __init__(self, fail_first: int = 0) -> None:
        receiver = self
        self.secret: str | None = None
        self.fail_first = fail_first
        self.attempts: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = receiver.secret is not None and verify(
                    receiver.secret, headers, body, now=time.time()
                )
                with receiver.lock:
                    receiver.attempts.append({"headers": headers, "body": body, "valid": valid})
                    fail = len(receiver.attempts) <= receiver.fail_first or not valid
                    if not fail:
                        receiver.accepted.append({"id": headers["webhook-id"], "body": body})
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
