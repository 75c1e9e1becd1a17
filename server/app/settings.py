"""Server settings, read from ``VISOR_*`` environment variables (and a ``.env`` file).

Defaults are the embedded mode: SQLite under the data directory, built-in plugins,
listening on 127.0.0.1 only.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator
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
    batching: bool = Field(
        default=True,
        description=(
            "Gather concurrent calls of tools that declare batching and send them to a "
            "worker together (docs/isolation.md); false runs every call alone."
        ),
    )
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

    # -- connections: what a client may do before its request is parsed (docs/deploy.md) ---
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        description="Largest request line plus headers; beyond it, 400 and the connection closes.",
    )
    max_header_count: int = Field(
        default=100, ge=8, description="Most header fields in one request; beyond it, 400."
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A connection must deliver a request's headers this soon after it opens "
        "(or after its first byte past the previous response); else it is closed.",
    )
    keep_alive_s: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after this long."
    )

    # -- executor: local worker processes or a Ray cluster (docs/deploy.md) ------------------
    executor: Literal["local", "ray"] = Field(
        default="local", description="Where isolated plugins run: local workers or Ray actors."
    )
    ray_address: str = Field(
        default="",
        description='Empty: start a Ray for this server; "auto" or "head:6379": join a cluster.',
    )
    ray_num_cpus: float = Field(
        default=1.0, ge=0, description="CPUs Ray reserves per plugin actor (fractions allowed)."
    )
    ray_plugin_resources: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Per plugin: {"ocr": {"num_cpus": 2, "num_gpus": 0.5, "memory_mb": 4096}}.',
    )
    ray_actor_idle_s: float = Field(
        default=60.0,
        ge=0,
        description="A Ray actor beyond VISOR_WARM_WORKERS idle this long is stopped (the pool "
        "grows back, up to VISOR_PLUGIN_WORKERS, while calls wait); 0: never shrink.",
    )
    ray_local_num_cpus: int | None = Field(
        default=None, ge=1, description="CPUs of the Ray this server starts (default: all)."
    )

    # -- learned models (docs/models.md) ---------------------------------------------------
    onnx_providers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["CPUExecutionProvider"],
        description="onnxruntime execution providers in order of preference (comma-separated), "
        "e.g. CUDAExecutionProvider,CPUExecutionProvider; a missing one is a clear error.",
    )
    onnx_threads: int | None = Field(
        default=None,
        ge=1,
        description="Intra-op threads per model session; unset: the cores divided by the "
        "plugin's worker processes, so workers x threads never exceeds the cores.",
    )
    model_dir: Path | None = Field(
        default=None,
        description="The model repository (docs/models.md); unset: data_dir/models. ONNX "
        "files dropped here as NAME.onnx + NAME.json (or .yaml) are registered at start.",
    )
    model_max_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="Largest ONNX file a registration takes."
    )
    model_check_memory_mb: int = Field(
        default=2048,
        ge=0,
        description="Heap cap of the process that loads and test-runs a model at registration "
        "(0: none); a model that needs more is refused.",
    )
    model_check_timeout_s: float = Field(
        default=120.0, gt=0, description="Longest a registration's load and test run may take."
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
    job_max_wait_s: float = Field(
        default=60.0, ge=0, description="Longest a submit with ?wait= holds the request open."
    )
    job_lease_s: float = Field(
        default=30.0, description="A server silent for this long loses its RUNNING jobs to others."
    )
    job_input_inline_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        description="Job inputs (args + image) up to this stay in the database; larger ones "
        "are files under data_dir/job-inputs.",
    )
    job_inputs_max_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024,
        ge=0,
        description="Total bytes of job inputs held as files; beyond it submits get 503.",
    )
    job_shutdown_grace_s: float = Field(
        default=5.0, description="On shutdown, running jobs get this long before being requeued."
    )

    # -- blobs: uploaded files, large job inputs, videos, model files (docs/deploy.md) ------
    blob_url: str = Field(
        default="",
        description="Where blobs live: empty for data_dir (one host), 'database' for the job "
        "store's database (a cluster without shared disks), file:///path, or "
        "s3://bucket/prefix (the s3 extra).",
    )
    blob_s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of an S3-compatible service (MinIO, Ceph…)."
    )
    blob_s3_region: str | None = Field(default=None, description="Region of the S3 bucket.")

    # -- requests ---------------------------------------------------------------------------
    max_request_bytes: int = 40 * 1024 * 1024
    max_bodies_in_flight_bytes: int = Field(
        default=256 * 1024 * 1024,
        description="Request bodies and image_url downloads held at once; beyond it, 503 "
        "overloaded (before reading, when the body declares its size).",
    )
    max_image_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    max_args_depth: int = Field(
        default=64,
        ge=2,
        le=200,
        description="How deep a call's arguments may nest (objects/arrays), on every door: "
        "deeper ones are refused with invalid_input.",
    )

    # -- inputs by reference and uploaded files (docs/inputs.md) ----------------------------
    allow_url_inputs: bool = Field(
        default=False, description="Let tools fetch image_url inputs (public http(s) only)."
    )
    url_input_timeout_s: float = Field(
        default=10.0, gt=0, description="Whole fetch, redirects included."
    )
    url_input_max_redirects: int = Field(default=5, ge=0, le=20)
    url_input_allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs image_url may reach although private (an intranet image host).",
    )
    input_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Directories image_path may read from (comma- or os.pathsep-separated).",
    )
    file_ttl_s: float = Field(
        default=24 * 3600.0, gt=0, description="Uploaded files expire after this."
    )
    file_quota_bytes: int = Field(
        default=1024 * 1024 * 1024, ge=0, description="Bytes of uploaded files per owner."
    )
    file_max_count: int = Field(
        default=1000, ge=1, description="Uploaded files one owner may store at once."
    )

    # -- video jobs (docs/video.md) ---------------------------------------------------------
    max_video_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024,
        ge=1,
        description="Largest video a video job or an upload takes (streamed to disk).",
    )
    video_max_frames: int = Field(
        default=100_000, ge=1, description="Most frames one video job may sample."
    )
    video_checkpoint_frames: int = Field(
        default=25, ge=1, description="A video job checkpoints its frames this often..."
    )
    video_checkpoint_s: float = Field(
        default=5.0, gt=0, description="...or after this many seconds, whichever is first."
    )
    video_decoder_memory_mb: int = Field(
        default=2048,
        ge=0,
        description="Heap cap of a video job's decoder process: a file that makes FFmpeg "
        "allocate more fails its job with memory_limit (0: no cap).",
    )
    video_pixels: bool = Field(
        default=True,
        description="Hand decoded frames to tools that take pixels (pixels=True) as raw RGB "
        "with the call; false: every frame goes as JPEG, as to any other tool.",
    )

    # -- live streams (docs/streams.md) -----------------------------------------------------
    stream_max_per_key: int = Field(
        default=4,
        ge=1,
        description="Live stream WebSockets one API key may hold open at once; more are "
        "refused (close 1013, rate_limited).",
    )
    stream_max_total: int = Field(
        default=32,
        ge=1,
        description="Live stream WebSockets open at once on this server, all keys together; "
        "more are refused (close 1013, overloaded).",
    )

    # -- pipelines (docs/pipelines.md) ------------------------------------------------------
    pipeline_max_regions: int = Field(
        default=500,
        ge=1,
        description="Most regions one for_each step of a pipeline runs on; a step that finds "
        "more ends the run with invalid_input naming it.",
    )
    pipeline_max_calls: int = Field(
        default=1000,
        ge=1,
        description="Most tool calls one pipeline run may make (every step, every region).",
    )

    # -- live sources and webhooks (docs/sources.md) ---------------------------------------
    sources_max_total: int = Field(
        default=16,
        ge=0,
        description="Sources running at once, all servers and keys together; more are refused "
        "(503 overloaded).",
    )
    sources_max_per_key: int = Field(
        default=4, ge=0, description="Sources one API key may have running (429 rate_limited)."
    )
    sources_max_running: int = Field(
        default=4, ge=0, description="Sources this server runs at once (others wait for a server)."
    )
    sources_lease_s: float = Field(
        default=15.0,
        gt=0,
        description="A server renews its sources' leases; one that dies loses them after this "
        "long and another server (or it, restarted) resumes them.",
    )
    sources_reconnect_min_s: float = Field(
        default=0.5, gt=0, description="First wait before reconnecting a dropped source."
    )
    sources_reconnect_max_s: float = Field(
        default=30.0, gt=0, description="Longest wait between reconnections (doubling)."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts per webhook delivery before it is dead."
    )
    webhook_backoff_s: float = Field(
        default=2.0, gt=0, description="Wait after a delivery's first failure (then doubling)."
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, description="Time limit of one webhook POST."
    )

    # -- MCP (docs/mcp.md) ------------------------------------------------------------------
    mcp_max_result_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1,
        description="Largest tool result (JSON bytes) /mcp accepts from a tool; larger ones "
        "are refused with invalid_output (REST and jobs use max_result_bytes). What reaches "
        "the agent is cut to mcp_max_result_tokens, the rest paged.",
    )
    mcp_max_result_tokens: int = Field(
        default=20_000,
        ge=500,
        description="Most model tokens (estimated from JSON) of one tool result /mcp hands "
        "an agent; larger results are cut, saying how to page through the rest "
        "(results.page or the visor://results/<id> resource).",
    )
    mcp_progress_interval_s: float = Field(
        default=1.5,
        gt=0,
        description="A call that asked for progress gets a notification at least this "
        "often (hosts reset their timeout on each), however rarely its tool reports.",
    )
    mcp_render_max_bytes: int = Field(
        default=200 * 1024,
        ge=8 * 1024,
        description="Largest rendered image (render: true) /mcp returns: a JPEG, its quality "
        "and size lowered until it fits (REST returns a PNG).",
    )
    mcp_tool_separator: Literal[".", "_"] = Field(
        default=".",
        description="Between plugin and tool in MCP tool names: '.' (image_info.describe, "
        "SPEC §6) or '_' (image_info_describe, inside the ^[a-zA-Z0-9_-]{1,64}$ function-name "
        "rule of the OpenAI, Anthropic and Gemini APIs). Calls accept either.",
    )
    mcp_tools: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Only these MCP tools are offered (comma-separated shell patterns on "
        "plugin.tool names, e.g. 'ocr.*,barcode.read'); empty: all. A client may narrow "
        "further with /mcp?tools=PATTERNS.",
    )

    # -- observability ----------------------------------------------------------------------
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: readable lines; json: one JSON object per line (request id, trace "
        "id, key id, plugin, tool, outcome, elapsed), the access log included.",
    )
    tracing: Literal["off", "otlp", "console"] = Field(
        default="off",
        description="OpenTelemetry spans for every hop of a call: otlp exports over OTLP/HTTP "
        "(configured by the standard OTEL_* variables; needs the 'tracing' extra), console "
        "prints them; off costs nothing.",
    )
    trace_frame_sample: int = Field(
        default=10,
        ge=1,
        description="With tracing on, one video or stream frame in this many gets its own span.",
    )

    # -- security (docs/security.md) --------------------------------------------------------
    auth: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="auto: API keys are required once one exists (and refused to start on a "
        "non-loopback host without one); required: always; off: never (loud warning).",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call Visor (and CORS), e.g. "
        "https://app.example.com,http://localhost:*; empty: same-origin only, CORS off.",
    )
    auth_rate_per_s: float = Field(default=20.0, gt=0, description="Requests/s per key.")
    auth_burst: int = Field(default=40, ge=1, description="Requests a key may make at once.")
    quota_redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: keys' request rates and concurrent calls are "
        "counted across every server sharing it (the redis extra); unset: per process.",
    )
    auth_max_concurrent_calls: int = Field(
        default=4, ge=1, description="Tool calls one key may run at once."
    )
    auth_failures_burst: int = Field(
        default=10, ge=1, description="Failed authentications an address may make in a row."
    )
    auth_failures_per_min: float = Field(
        default=6.0, gt=0, description="Failed authentications an address regains per minute."
    )
    auth_refresh_s: float = Field(
        default=5.0, gt=0, description="Re-read keys (other servers' changes), write last-used."
    )
    trusted_proxies: str = Field(
        default="",
        description="Proxies whose X-Forwarded-For/-Proto name the real client (comma-"
        "separated IPs or networks, '*' for any; empty, the default: none, not even one on "
        "loopback, so no local client can pick its own address): per-address limits and "
        "logs then see the client, not the proxy.",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("plugins_allowlist", mode="before")
    @classmethod
    def _split_allowlist(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().startswith("["):
                import json

                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator(
        "url_input_allow_networks", "input_roots", "onnx_providers", "mcp_tools", mode="before"
    )
    @classmethod
    def _split_list(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            if value.strip().startswith("["):
                import json

                return json.loads(value)
            if info.field_name == "input_roots":  # PATH-like; IPv6 networks contain ':'
                value = value.replace(os.pathsep, ",")
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("url_input_allow_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return value

    def resolved_model_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.data_dir / "models"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'visor.sqlite3'}"
