"""Typed events: what one task's stream tells its consumer.

A task has n slots (one per requested image). Each slot sees `Started`, then any number of
`Partial` and `Progress`, then exactly one `Completed` or `Failed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imgtui.api.b64 import B64Text, b64decode


class FailureKind(StrEnum):
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
    def from_json(cls, obj: dict[str, Any]) -> ImageMeta:
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


class Partial:
    """A partial frame: a complete, coarser image (not a delta).

    The client hands over the frame's base64 text (str, or a memoryview into the event's
    line) and decodes it on first access of `image`: a consumer that never looks at the pixels (the CLI, a benchmark) never pays,
    and the app decodes it in the thread where it also decodes the PNG.
    """

    __slots__ = ("_b64", "_image", "bytes_received", "index", "meta", "slot")

    def __init__(
        self,
        slot: int,
        index: int,
        image: bytes | None = None,
        meta: ImageMeta = ImageMeta(),
        bytes_received: int = 0,
        *,
        b64: B64Text | None = None,
    ) -> None:
        if image is None and b64 is None:
            raise TypeError("Partial needs image bytes or b64 text")
        self.slot, self.index, self.meta, self.bytes_received = slot, index, meta, bytes_received
        self._image, self._b64 = image, b64

    @property
    def image(self) -> bytes:
        """The frame's bytes; empty when its base64 is broken or its header is not an image
        within the limits (a decompression bomb must never reach a decoder; a preview is
        not worth failing the task for)."""
        if self._image is None:
            try:
                self._image = b64decode(self._b64 or "")
            except ValueError:  # binascii.Error too: bad padding, a cut-off frame
                self._image = b""
            self._b64 = None
            if self._image:
                from imgtui.api.imagecheck import header_ok

                if not header_ok(self._image):
                    self._image = b""
        return self._image

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Partial):
            return NotImplemented
        return (self.slot, self.index, self.meta, self.image) == (
            other.slot,
            other.index,
            other.meta,
            other.image,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Partial(slot={self.slot}, index={self.index}, meta={self.meta!r}, bytes_received={self.bytes_received})"


@dataclass(frozen=True)
class Completed:
    """A slot's final image. `original`: the image as the server sent it, when `image` is
    a version made from it here (a locally keyed transparent PNG, issue 15)."""

    slot: int
    image: bytes = field(repr=False)
    meta: ImageMeta = ImageMeta()
    revised_prompt: str | None = None
    usage: dict[str, Any] | None = None
    response_id: str | None = None
    bytes_received: int = 0
    original: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Sent:
    """The HTTP requests of a task as they are sent (`api.calls.describe_calls`): method,
    URL, headers and body, with the key and every configured header and query value
    masked and input images reduced to their size. Concerns the whole task; `slot` is 0."""

    slot: int
    calls: tuple[dict[str, Any], ...] = field(compare=False)


@dataclass(frozen=True)
class Submitted:
    """A polled provider accepted the task: `handle` (JSON-safe: kind, task id, poll URLs)
    lets a restarted process poll the same task instead of submitting it again
    (`imgtui.api.polled`). Concerns the whole task; `slot` is 0."""

    slot: int
    handle: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class Failed:
    """A slot's end without an image. `raw`: bytes that arrived but are not a usable image
    (truncated, not an image, a bomb), kept so the caller can save them for inspection."""

    slot: int
    kind: FailureKind
    message: str
    hint: str = ""
    status: int | None = None
    retry_after: float | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)


Event = Started | Progress | Partial | Completed | Failed | Submitted | Sent
