"""The wire protocol: request building, SSE/JSON parsing, error mapping.

Modules, one job each: `request` (the request model and validation), `calls` (request
bodies and multipart), `sse` (SSE framing), `parse` (event parsing), `client` (the call
runner, `stream_images`, `RetryPolicy`), `transport` (redirects under the credential
rule, the deadline, capped reads), `pool` (clients and `ClientPool`), `errors` (failure
mapping, `scrub`), `limits` and `imagecheck` (caps; a final image must be an image),
`events`, `bigjson`, `b64`, `polled` (providers that answer with a task to poll).

Plain asyncio + httpx; imports nothing from Textual (the headless CLI and the tests use it
as is). The request and event types import nothing heavy; httpx is imported only when the
client (`stream_images`, `check_connection`, `ApiFailure`) is first used, so modules that
only need the types (config, store, the app at start-up) stay fast to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imgtui.api.events import (
    Completed,
    Event,
    Failed,
    FailureKind,
    ImageMeta,
    Partial,
    Progress,
    Sent,
    Started,
    Submitted,
)
from imgtui.api.request import Connection, ImageRequest, InputImage, RequestError, parse_size

if TYPE_CHECKING:
    from imgtui.api.client import RetryPolicy, check_connection, get_json, stream_images
    from imgtui.api.errors import ApiFailure
    from imgtui.api.limits import Limits
    from imgtui.api.pool import ClientPool

_LAZY = {
    "stream_images": "imgtui.api.client",
    "check_connection": "imgtui.api.client",
    "get_json": "imgtui.api.client",
    "RetryPolicy": "imgtui.api.client",
    "ApiFailure": "imgtui.api.errors",
    "ClientPool": "imgtui.api.pool",
    "Limits": "imgtui.api.limits",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'imgtui.api' has no attribute {name!r}")


__all__ = [
    "ApiFailure",
    "ClientPool",
    "Completed",
    "Connection",
    "Event",
    "Failed",
    "FailureKind",
    "ImageMeta",
    "ImageRequest",
    "InputImage",
    "Limits",
    "Partial",
    "Progress",
    "RequestError",
    "RetryPolicy",
    "Sent",
    "Started",
    "Submitted",
    "check_connection",
    "get_json",
    "parse_size",
    "stream_images",
]
