"""Server settings, read from ``VISOR_*`` environment variables (and a ``.env`` file).

Defaults are the embedded mode: SQLite under the data directory, built-in plugins,
listening on 127.0.0.1 only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "visor"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VISOR_", env_file=".env", extra="ignore", env_nested_delimiter="__"
    )

    # -- network ----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000

    # -- storage ----------------------------------------------------------------------------
    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite (WAL) under data_dir."
    )

    # -- plugins ----------------------------------------------------------------------------
    plugins_allowlist: Annotated[list[str] | None, NoDecode] = Field(
        default=None, description="Entry-point names allowed to load; unset means all installed."
    )
    plugin_load_timeout_s: float = 30.0
    force_in_process: bool = Field(
        default=False, description="Run every plugin in the server process (debugging only)."
    )

    # -- execution --------------------------------------------------------------------------
    default_timeout_s: float = 60.0
    tool_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description='Per plugin or tool time limits, e.g. {"ocr": 30, "ocr.read_text": 10}.',
    )
    max_result_bytes: int = 32 * 1024 * 1024

    # -- isolation (docs/isolation.md) ------------------------------------------------------
    plugin_isolation: dict[str, Literal["process", "in_process"]] = Field(
        default_factory=dict,
        description='Per-plugin mode overriding the plugin\'s own, e.g. {"ocr": "process"}.',
    )
    plugin_workers: dict[str, int] = Field(
        default_factory=dict, description='Worker processes per plugin, e.g. {"ocr": 2}.'
    )
    workers_per_plugin: int | None = Field(
        default=None, ge=1, description="Most workers a plugin may use; unset: CPU count (1-8)."
    )
    warm_workers: int = Field(
        default=1, ge=1, description="Workers started with each plugin; more boot on demand."
    )
    worker_queue_size: int = Field(
        default=128, ge=0, description="Calls that may wait, first come first served, per plugin."
    )
    plugin_queue_sizes: dict[str, int] = Field(default_factory=dict)
    worker_memory_limit_mb: int = Field(
        default=2048, ge=0, description="Heap limit per worker process; 0 means unlimited."
    )
    plugin_memory_limits_mb: dict[str, int] = Field(default_factory=dict)
    worker_startup_timeout_s: float = 60.0
    circuit_failures: int = Field(
        default=3, ge=1, description="Worker crashes or timeouts that open a plugin's circuit."
    )
    circuit_window_s: float = 60.0
    circuit_cooldown_s: float = Field(
        default=5.0, description="Seconds an open circuit waits before probing the plugin."
    )
    shutdown_timeout_s: float = Field(
        default=10.0, description="On shutdown, in-flight calls get this long to finish."
    )

    # -- jobs -------------------------------------------------------------------------------
    job_concurrency: int = Field(default=4, ge=1, description="Jobs this server runs at once.")
    job_max_attempts: int = Field(
        default=3, ge=1, le=20, description="Default starts allowed if the server dies mid-run."
    )
    job_retention_s: float = Field(
        default=7 * 24 * 3600.0, description="Finished jobs and their inputs are purged after this."
    )
    job_progress_interval_s: float = Field(
        default=0.25, description="At most one progress update per job is stored per interval."
    )
    job_poll_s: float = Field(
        default=1.0, description="Idle check for jobs other servers accepted."
    )
    job_heartbeat_s: float = 5.0
    job_lease_s: float = Field(
        default=30.0, description="A server silent for this long loses its RUNNING jobs to others."
    )
    job_shutdown_grace_s: float = Field(
        default=5.0, description="On shutdown, running jobs get this long before being requeued."
    )

    # -- requests ---------------------------------------------------------------------------
    max_request_bytes: int = 40 * 1024 * 1024
    max_image_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 50_000_000

    # -- observability ----------------------------------------------------------------------
    log_level: str = "INFO"

    @field_validator("plugins_allowlist", mode="before")
    @classmethod
    def _split_allowlist(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().startswith("["):
                import json

                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'visor.sqlite3'}"
