"""visor-client: the Python client for a Visor server.

``Visor`` (sync) and ``AsyncVisor`` (async) have the same methods; results are typed in the
server's result vocabulary (:mod:`visor_client.models`); every failure is a
:class:`~visor_client.errors.VisorError` carrying the server's error envelope.
"""

from visor_client._core import RetryPolicy
from visor_client._streams import AsyncStream, Stream
from visor_client.aio import AsyncVisor
from visor_client.client import Visor
from visor_client.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    JobNotFinished,
    JobNotFound,
    NotFound,
    Overloaded,
    PluginNotFound,
    RateLimited,
    ToolFailed,
    ToolNotFound,
    ToolTimeout,
    Unauthorized,
    VisorConnectionError,
    VisorError,
    VisorTimeout,
)
from visor_client.models import (
    Box,
    FileInfo,
    Job,
    JobEvent,
    JobStatus,
    PipelineResult,
    Region,
    Result,
    StreamAnswer,
)

__all__ = [
    "AsyncStream",
    "AsyncVisor",
    "Box",
    "Conflict",
    "FileInfo",
    "Forbidden",
    "InvalidInput",
    "Job",
    "JobEvent",
    "JobNotFinished",
    "JobNotFound",
    "JobStatus",
    "NotFound",
    "Overloaded",
    "PipelineResult",
    "PluginNotFound",
    "RateLimited",
    "Region",
    "Result",
    "RetryPolicy",
    "Stream",
    "StreamAnswer",
    "ToolFailed",
    "ToolNotFound",
    "ToolTimeout",
    "Unauthorized",
    "Visor",
    "VisorConnectionError",
    "VisorError",
    "VisorTimeout",
]
