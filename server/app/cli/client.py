"""The CLI's HTTP client for a running Visor server (``--server URL``).

Every non-2xx answer becomes a :class:`CliFailure` carrying the server's own error
envelope, so the CLI prints exactly what the API said; transport problems become a
:class:`ServerUnreachable` (exit code 3) naming the server, with a hint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import orjson

from app.cli.errors import CliFailure, ServerUnreachable

_START_HINT = "is the server running? Start one with `visor serve`, or pass --server URL"


def server_url(value: str) -> str:
    """What a user may type for ``--server``: a URL, or just ``host:port`` (http)."""
    value = value.strip().rstrip("/")
    return value if "://" in value else f"http://{value}"


def default_server() -> str:
    """The server ``visor serve`` would start with the same ``VISOR_*`` settings."""
    from app.settings import Settings

    settings = Settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


class VisorClient:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout_s: float = 300.0,
        api_key: str | None = None,
    ) -> None:
        self.base_url = server_url(base_url or default_server())
        key = api_key if api_key is not None else os.environ.get("VISOR_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}  # docs/security.md
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, headers=headers)

    def __enter__(self) -> VisorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plugins and tools ------------------------------------------------------------------

    def plugins(self) -> list[dict[str, Any]]:
        plugins: list[dict[str, Any]] = self._json("GET", "/v1/plugins")["plugins"]
        return plugins

    def analyze(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/analyze``: the plugin's default tool (or ``body["tool"]``)."""
        return self._json("POST", "/v1/analyze", json=body)

    def run_tool(
        self, plugin: str, tool: str, args: dict[str, Any], file: Path | None = None
    ) -> dict[str, Any]:
        """``POST /v1/plugins/{plugin}/tools/{tool}/run``: multipart with a file, else JSON."""
        path = f"/v1/plugins/{plugin}/tools/{tool}/run"
        if file is None:
            return self._json("POST", path, json=args)
        with file.open("rb") as handle:
            return self._json(
                "POST",
                path,
                files={"file": (file.name, handle)},
                data={"args": orjson.dumps(args).decode("utf-8")},
            )

    # -- pipelines --------------------------------------------------------------------------

    def pipelines(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self._json("GET", "/v1/pipelines")["pipelines"]
        return listed

    def pipeline(self, name: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/pipelines/{name}")

    def save_pipeline(self, text: bytes, content_type: str) -> dict[str, Any]:
        """``POST /v1/pipelines`` with the spec as written (JSON or YAML)."""
        return self._json(
            "POST", "/v1/pipelines", content=text, headers={"content-type": content_type}
        )

    def delete_pipeline(self, name: str) -> dict[str, Any]:
        return self._json("DELETE", f"/v1/pipelines/{name}")

    def run_pipeline(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/v1/pipelines/{name}/run", json=body)

    # -- models -----------------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self._json("GET", "/v1/models")["models"]
        return listed

    def add_model(
        self, name: str, model: Path, manifest: bytes, *, make_default: bool = True
    ) -> dict[str, Any]:
        """``POST /v1/models``: the ONNX file streamed as multipart, with its manifest."""
        with model.open("rb") as fh:
            return self._json(
                "POST",
                "/v1/models",
                data={"name": name, "default": "true" if make_default else "false"},
                files={"file": (model.name, fh), "manifest": ("manifest", manifest)},
            )

    def remove_model(self, ref: str) -> dict[str, Any]:
        return self._json("DELETE", f"/v1/models/{ref}")

    # -- jobs -------------------------------------------------------------------------------

    def submit_job(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/v1/jobs", json=body)

    def job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def job_result(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/jobs/{job_id}/result")

    def jobs(self, **filters: Any) -> dict[str, Any]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._json("GET", "/v1/jobs", params=params)

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self._json("DELETE", f"/v1/jobs/{job_id}")

    def submit_video_job(self, video: Path, fields: dict[str, str]) -> dict[str, Any]:
        """``POST /v1/video/jobs`` as multipart: the file is streamed, never read whole."""
        with video.open("rb") as fh:
            return self._json(
                "POST", "/v1/video/jobs", data=fields, files={"file": (video.name, fh)}
            )

    # -- plumbing ---------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise ServerUnreachable(
                self.base_url, f"connection failed ({exc})", _START_HINT
            ) from exc
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(
                self.base_url, f"no answer in time ({type(exc).__name__})", "try again later"
            ) from exc
        except httpx.HTTPError as exc:
            raise ServerUnreachable(
                self.base_url, f"{type(exc).__name__}: {exc}", "check the --server URL"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict):
            return body
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise CliFailure(body["error"])
        raise ServerUnreachable(
            self.base_url,
            f"{method} {path} answered HTTP {response.status_code} without a Visor error envelope",
            "is --server pointing at a Visor server?",
        )
