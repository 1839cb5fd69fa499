"""Typed events: what one task's stream tells its consumer.

A task has n slots (one per requested image). Each slot sees `Started`, then any number of
`Partial` and `Progress`, then exactly one `Completed` or `Failed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FailureKind(str, Enum):
    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    BAD_REQUEST = "bad_request"
    MODERATION = "moderation"
    SERVER = "server"
    PROXY_TIMEOUT = "proxy_timeout"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    STREAM = "stream"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ImageMeta:
    """What the server says it actually produced (may differ from what was asked)."""

    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None

    @classmethod
    def from_json(cls, obj: dict) -> ImageMeta:
        def s(key: str) -> str | None:
            v = obj.get(key)
            return v if isinstance(v, str) else None

        return cls(s("size"), s("quality"), s("background"), s("output_format"))

    def merged(self, other: ImageMeta) -> ImageMeta:
        """Fields of `other` where set, else ours."""
        return ImageMeta(
            other.size or self.size,
            other.quality or self.quality,
            other.background or self.background,
            other.output_format or self.output_format,
        )


@dataclass(frozen=True)
class Started:
    slot: int


@dataclass(frozen=True)
class Progress:
    """Bytes received so far on this slot's response (throttled)."""

    slot: int
    bytes_received: int


@dataclass(frozen=True)
class Partial:
    slot: int
    index: int
    image: bytes = field(repr=False)
    meta: ImageMeta = ImageMeta()
    bytes_received: int = 0


@dataclass(frozen=True)
class Completed:
    slot: int
    image: bytes = field(repr=False)
    meta: ImageMeta = ImageMeta()
    revised_prompt: str | None = None
    usage: dict | None = None
    response_id: str | None = None
    bytes_received: int = 0


@dataclass(frozen=True)
class Failed:
    slot: int
    kind: FailureKind
    message: str
    hint: str = ""
    status: int | None = None
    retry_after: float | None = None


Event = Started | Progress | Partial | Completed | Failed
