"""The wire protocol: request building, SSE/JSON parsing, error mapping.

Plain asyncio + httpx; imports nothing from Textual (the headless CLI and the tests use it
as is).
"""

from imgtui.api.client import check_connection, stream_images
from imgtui.api.errors import ApiFailure
from imgtui.api.events import Completed, Event, Failed, FailureKind, ImageMeta, Partial, Progress, Started
from imgtui.api.request import Connection, ImageRequest, InputImage, RequestError, parse_size

__all__ = [
    "ApiFailure", "Completed", "Connection", "Event", "Failed", "FailureKind", "ImageMeta", "ImageRequest",
    "InputImage", "Partial", "Progress", "RequestError", "Started", "check_connection", "parse_size",
    "stream_images",
]
