"""A real HTTP server on a loopback address, serving images, text, redirects and stalls.

Bound to 127.0.0.1 it is what an SSRF attack aims at; bound to 127.0.0.2 (also loopback on
Linux) it stands in for a public image host once a test's settings trust that one address.
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class ImageServer:
    def __init__(self, host: str, image: bytes, mime: str = "image/jpeg") -> None:
        self.image = image
        self.mime = mime
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                owner.hits.append(parts.path)
                query = parse_qs(parts.query)
                if parts.path in ("/image", "/bild-%C3%BC.jpg"):  # the second: /bild-ü.jpg
                    self._send(200, owner.mime, owner.image)
                elif parts.path == "/image-as-text":
                    self._send(200, "text/plain", owner.image)
                elif parts.path == "/text":
                    self._send(200, "text/html", b"<html>not an image</html>")
                elif parts.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", query["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif parts.path == "/huge":  # no Content-Length: the limit must hold anyway
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.end_headers()
                    chunk = b"\x89PNG\r\n\x1a\n" + b"\0" * 65536
                    try:
                        for _ in range(2000):
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                elif parts.path == "/drip-headers":  # a header byte every ?every= seconds
                    self._drip(float(query.get("every", ["0.2"])[0]), int(query["bytes"][0]))
                elif parts.path == "/stall":
                    time.sleep(float(query.get("s", ["5"])[0]))
                    self._send(200, owner.mime, owner.image)
                else:
                    self._send(404, "text/plain", b"no")

            def _drip(self, every_s: float, count: int) -> None:
                """Headers one byte at a time (``count`` bytes of padding), then the image."""
                head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * count + b"\r\n"
                tail = (
                    f"Content-Type: {owner.mime}\r\nContent-Length: {len(owner.image)}\r\n\r\n"
                ).encode()
                try:
                    for i in range(len(head)):
                        self.wfile.write(head[i : i + 1])
                        self.wfile.flush()
                        time.sleep(every_s)
                    self.wfile.write(tail + owner.image)
                except OSError:
                    pass
                self.close_connection = True

            def _send(self, status: int, mime: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", mime)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> ImageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
