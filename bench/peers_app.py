"""The two servers bench/peers.py compares, each run in its own process.

``visor``: the real app with the built-in image_info and barcode plugins on default
settings (worker processes, automatic worker count, default queue), served the way
``visor serve`` serves it. ``bare``: a plain FastAPI app whose sync endpoints run the same
tool code (the plugins' own handlers, in the server's thread pool) — what a developer would
write without Visor.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from fastapi import FastAPI

from app.plugins.base import ToolContext, normalise_output
from app.plugins.builtin.barcode.plugin import BarcodePlugin
from app.plugins.builtin.image_info import ImageInfoPlugin

TOOLS = {"image_info": (ImageInfoPlugin, "describe"), "barcode": (BarcodePlugin, "read")}


def bare() -> FastAPI:
    app = FastAPI()
    handlers = {}
    for plugin, (cls, tool) in TOOLS.items():
        instance = cls()
        instance.startup()
        handlers[plugin] = (instance, cls.tool_specs()[tool])

    @app.post("/bare/{plugin}")
    def run(plugin: str, body: dict[str, Any]) -> dict[str, Any]:
        instance, spec = handlers[plugin]
        args = dict(body.get("args") or {})
        args["image"] = body["image"]
        args["mime_type"] = body.get("mime_type")
        ctx = ToolContext(plugin=plugin, tool=spec.name)
        return {"result": normalise_output(spec.bind(instance, args, ctx))}

    @app.get("/v1/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    return app


def visor(port: int) -> None:
    import uvicorn

    from app.main import create_app
    from app.plugins.loader.plugin_registry import PluginRegistry
    from app.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        data_dir=tempfile.mkdtemp(prefix="visor-peers-"),
        plugins_allowlist=list(TOOLS),
        log_level="WARNING",
        _env_file=None,
    )
    app = create_app(settings, registry=PluginRegistry())
    try:
        from app.serving import serve
    except ImportError:  # an older Visor (--before): plain uvicorn, as it served then
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    serve(
        app,
        host="127.0.0.1",
        port=port,
        shutdown_timeout_s=settings.shutdown_timeout_s,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("VISOR_LOG_LEVEL", "WARNING")
    if kind == "visor":
        visor(port)
    else:
        import uvicorn

        uvicorn.run(bare(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
