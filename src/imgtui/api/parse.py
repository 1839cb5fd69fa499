"""Event parsing: decoded SSE data or JSON replies -> typed events of one slot.

Dispatches on the JSON `type`, never on the `event:` line (relays drop it), and accepts
every variant PROTOCOL.md §4-5 lists. Images keep their base64 text here, never decoded on
the event loop (a 4K final is 32 MB of base64; issue 16): a partial frame decodes lazily
(`Partial.image`, in the runner's thread), a final image when `StreamParser.finish` runs
(the client calls it in a thread). A multi-MB event is never decoded as text or scanned
by json (`bigjson`).
"""

from __future__ import annotations

import binascii
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from imgtui.api import bigjson
from imgtui.api.b64 import B64Text, b64decode, is_b64_text
from imgtui.api.errors import HINT_NO_FINAL, ApiFailure, error_object, from_error_object
from imgtui.api.events import Completed, Event, FailureKind, ImageMeta, Partial
from imgtui.api.sse import DONE, SSEData, Stray, Unframed, iter_sse

#: Keys whose (long) values are base64 images: kept as bytes by `bigjson`.
IMAGE_KEYS = ("b64_json", "partial_image_b64", "result")


def b64_image(value: object) -> bytes | None:
    """Decoded base64 image bytes, or None when `value` is empty or not base64.
    Takes tens of ms for a 4K image: call it off the event loop."""
    if not is_b64_text(value):
        return None
    try:
        return b64decode(value)
    except (binascii.Error, ValueError):
        return None


def b64_text(value: object) -> B64Text | None:
    """`value` when it is non-empty base64 text (str or bytes-like), else None."""
    return value if is_b64_text(value) else None


def decode_event(data: str | bytes, start: int = 0) -> dict[str, Any]:
    """JSON-parse one event (`data[start:]`) and set its images' base64 text aside.

    An image's base64 (of the event, its `item`, or each `response.output` item) moves
    to `_b64`: str, or a memoryview into `data` when it came from a big line; None when
    the value is empty or not text. Nothing is decoded here: a partial frame decodes when
    someone looks at it (`Partial.image`), a final one in `StreamParser.finish`.
    Raises ValueError on malformed JSON; a JSON value that is not an object gives `{}`.
    """
    obj = bigjson.loads(data, IMAGE_KEYS, start) if isinstance(data, bytes) else json.loads(data)
    if not isinstance(obj, dict):
        return {}
    for key in IMAGE_KEYS:
        if key in obj:
            obj["_b64"] = b64_text(obj.pop(key))
            break
    item = obj.get("item")
    if isinstance(item, dict) and "result" in item:
        item["_b64"] = b64_text(item.pop("result"))
    response = obj.get("response")
    if isinstance(response, dict):
        take_results(response)
    return obj


def take_results(response: dict[str, Any]) -> None:
    """Move the image `result` of each `output[]` item of a Response object to `_b64`
    (see `decode_event`), in place."""
    for item in response.get("output") or []:
        if isinstance(item, dict) and "result" in item:
            item["_b64"] = b64_text(item.pop("result"))


def usage_of(obj: object) -> dict[str, Any] | None:
    """A `usage` value worth keeping: a non-empty dict, else None."""
    return obj if isinstance(obj, dict) and obj else None


def with_svg_usage(usage: dict[str, Any] | None, svg_usage: object) -> dict[str, Any] | None:
    """`usage` with an SVG reply's `svg_usage` (the author model's tokens, OPENAI-IMAGES.md
    §3) kept under the key `svg_usage`, so the cost counts it (`models.prices.cost_usd`)."""
    svg = usage_of(svg_usage)
    if svg is None:
        return usage
    return {**(usage or {}), "svg_usage": svg}


def response_usage(response: dict[str, Any]) -> dict[str, Any] | None:
    """The image usage of a Response object: `tool_usage.image_gen` (the image model's
    tokens, OPENAI-IMAGES.md §5 "Cost on Responses"), with the mainline model's `usage`
    kept under `mainline_usage`; the plain `usage` when the reply has no tool usage."""
    mainline = usage_of(response.get("usage"))
    tool_usage = response.get("tool_usage")
    image_gen = usage_of(tool_usage.get("image_gen")) if isinstance(tool_usage, dict) else None
    if image_gen is None:
        return mainline
    return {**image_gen, "mainline_usage": mainline} if mainline else dict(image_gen)


def malformed(data: str | bytes, start: int = 0) -> ApiFailure:
    """The failure for an event that is not JSON (its first 60 characters shown)."""
    shown = data[start : start + 60] if isinstance(data, bytes) else data[:60]
    return ApiFailure(
        FailureKind.STREAM,
        f"Malformed event from the server: {shown!r}",
        "The server or a relay sent invalid JSON; retry.",
    )


async def iter_sse_json(
    chunks: AsyncIterator[bytes], *, byte_counts: bool = False
) -> AsyncIterator[dict[str, Any] | str | int]:
    """Decode an SSE byte stream into decoded JSON objects (or the string "[DONE]").

    With `byte_counts`, also yields the running byte count (an int) after each chunk.
    Raises ApiFailure(STREAM) on malformed JSON. Unframed JSON objects come out like
    events; stray text lines are skipped.
    """
    async for item in iter_sse(chunks, byte_counts=byte_counts):
        if isinstance(item, SSEData):
            try:
                yield decode_event(item.data, item.start)
            except ValueError:
                raise malformed(item.data, item.start) from None
        elif isinstance(item, Unframed):
            try:
                yield decode_event(item.data)
            except ValueError:
                raise malformed(item.data) from None
        elif isinstance(item, Stray):
            continue
        else:
            yield item  # DONE or a byte count


#: `status` values of an asynchronous task that is not done (sub2api, new-api, fal...).
_TASK_STATES = {
    "queued",
    "pending",
    "processing",
    "in_progress",
    "submitted",
    "running",
    "in_queue",
    "not_start",
    "started",
}


def async_task(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(task id, status) when a reply is an asynchronous task instead of an image, else None.

    Recognised: `task_id` (or `request_id`, or `id` with a pending `status`) and no
    `data`/`output` holding images (sub2api, new-api and fal.ai queue replies).
    """
    data = obj.get("data")
    if (isinstance(data, list) and data) or obj.get("output"):
        return None
    status = str(obj.get("status") or "").strip()
    for key in ("task_id", "request_id"):
        value = obj.get(key)
        if isinstance(value, (str, int)) and str(value):
            return str(value), status or "unknown"
    value = obj.get("id")
    if isinstance(value, (str, int)) and status.lower() in _TASK_STATES:
        return str(value), status
    if isinstance(data, dict):  # new-api style: {"code": "success", "data": {"task_id": ...}}
        return async_task(data)
    return None


@dataclass(frozen=True)
class Final:
    """A slot's final image as it arrived, not yet decoded: `b64` holds its base64 text,
    with any later copies of it (a Response's `output`) as fallbacks should the first be
    broken; `image` the bytes when they came decoded (a downloaded URL)."""

    b64: tuple[B64Text, ...]
    image: bytes | None
    meta: ImageMeta
    revised_prompt: str | None
    usage: dict[str, Any] | None
    response_id: str | None
    bytes_received: int

    def decoded(self) -> bytes | None:
        """The image's bytes (the first copy whose base64 decodes), or None."""
        if self.image:
            return self.image
        for text in self.b64:
            image = b64_image(text)
            if image:
                return image
        return None


class StreamParser:
    """Turns the decoded SSE events of one call into typed events.

    Dispatches on the JSON `type`, never on the `event:` line (relays drop it). Unknown
    events are ignored. Raises ApiFailure for in-stream errors. The final image stays
    base64 (`final`) until `finish()` decodes it: call that off the event loop.
    """

    def __init__(self, slot: int, requested_meta: ImageMeta, max_partials: int = 8) -> None:
        self.slot = slot
        self.max_partials = max_partials  # frames past this many are dropped
        self.meta = requested_meta
        self.response_id: str | None = None
        self.final: Final | None = None  # set once; from output_item.done or *.completed
        self.done = False  # saw [DONE] or a terminal event
        self.final_url: str | None = None  # a completed event that gave a URL, not base64
        self._url_fields: tuple[ImageMeta, object, dict[str, Any] | None, int] | None = None
        self._partials = 0
        self._svg_usage: object = None  # an SVG image_generation_call's `svg_usage`

    def feed(self, obj: dict[str, Any], bytes_received: int) -> list[Event]:
        err = error_object(obj)
        if err is not None:
            raise from_error_object(err)
        etype = str(obj.get("type") or "")
        meta = ImageMeta.from_json(obj)
        if etype in ("response.created", "response.in_progress"):
            self._note_response(obj.get("response"))
            return []
        if etype.endswith("partial_image"):
            b64 = obj.get("_b64")
            if not b64 or self.final is not None or self._partials >= self.max_partials:
                return []
            index = obj.get("partial_image_index")
            index = index if isinstance(index, int) else self._partials
            self._partials += 1
            return [
                Partial(self.slot, index, None, self.meta.merged(meta), bytes_received, b64=b64)
            ]
        if etype == "response.output_item.done":
            item = obj.get("item") or {}
            if (
                item.get("type") == "image_generation_call"
                and item.get("_b64")
                and self.final is None
            ):
                self._svg_usage = item.get("svg_usage")
                self.final = self._completed(
                    item["_b64"],
                    ImageMeta.from_json(item),
                    item.get("revised_prompt"),
                    with_svg_usage(None, self._svg_usage),
                    bytes_received,
                )
            return []
        if etype == "response.completed":
            response = obj.get("response") or {}
            self._note_response(response)
            usage = response_usage(response)
            images = [
                item
                for item in response.get("output") or []
                if isinstance(item, dict) and item.get("_b64")
            ]
            if self.final is None:
                for item in images[:1]:
                    self.final = self._completed(
                        item["_b64"],
                        ImageMeta.from_json(item),
                        item.get("revised_prompt"),
                        with_svg_usage(usage, item.get("svg_usage")),
                        bytes_received,
                    )
            else:
                # The output repeats the image: a fallback, should the first copy be broken.
                later = tuple(item["_b64"] for item in images)
                self.final = replace(self.final, b64=self.final.b64 + later)
                if usage:
                    usage = with_svg_usage(usage, self._svg_usage)
                    self.final = replace(self.final, usage=usage, response_id=self.response_id)
            self.done = True
            return []
        if etype == "response.failed":
            response = obj.get("response") or {}
            found = response.get("error")
            raise from_error_object(
                found if isinstance(found, dict) else {"message": "response failed"}
            )
        if etype == "response.incomplete":
            details = (obj.get("response") or {}).get("incomplete_details") or {}
            reason = details.get("reason") if isinstance(details, dict) else None
            raise ApiFailure(
                FailureKind.STREAM,
                f"The response ended incomplete: {reason or 'no reason given'}",
                "Retry; a longer prompt or a content filter can cause this.",
            )
        if etype.endswith(".failed"):
            message = (
                obj.get("message")
                or (obj.get("error") or {}).get("message")
                or f"{etype} without a message"
            )
            raise from_error_object({"message": message, "code": obj.get("code")})
        if etype.endswith(".completed") and obj.get("_b64"):
            # image_generation.completed, image_edit.completed
            if self.final is None:
                self.final = self._completed(
                    obj["_b64"],
                    meta,
                    obj.get("revised_prompt"),
                    usage_of(obj.get("usage")),
                    bytes_received,
                )
            self.done = True
            return []
        if etype.endswith(".completed") and isinstance(obj.get("url"), str) and obj["url"]:
            # A relay that hands the final image over as a link: the runner downloads it.
            if self.final is None and self.final_url is None:
                self.final_url = obj["url"]
                usage = usage_of(obj.get("usage"))
                self._url_fields = (meta, obj.get("revised_prompt"), usage, bytes_received)
            self.done = True
            return []
        return []

    def complete_with(self, image: bytes) -> None:
        """Fill in the final image downloaded from `final_url`."""
        assert self._url_fields is not None
        meta, revised, usage, received = self._url_fields
        self.final = replace(self._completed(None, meta, revised, usage, received), image=image)

    def _note_response(self, response: object) -> None:
        if isinstance(response, dict) and isinstance(response.get("id"), str):
            self.response_id = response["id"]

    def _completed(
        self,
        b64: B64Text | None,
        meta: ImageMeta,
        revised: object,
        usage: dict[str, Any] | None,
        bytes_received: int,
    ) -> Final:
        return Final(
            () if b64 is None else (b64,),
            None,
            self.meta.merged(meta),
            revised if isinstance(revised, str) else None,
            usage,
            self.response_id,
            bytes_received,
        )

    def finish(self, bytes_received: int) -> Completed:
        """The final event at end of stream, its image decoded from base64 here (tens of
        ms for a 4K image, the GIL released: call it in a thread); ApiFailure when no final
        image arrived, or its base64 is broken (as if it had not arrived)."""
        final = self.final
        image = final.decoded() if final is not None else None
        if final is None or image is None:
            raise ApiFailure(
                FailureKind.STREAM, "The stream ended without a final image", HINT_NO_FINAL
            )
        # The base64 (a view of its event's 32 MB line at 4K) goes now, not with the
        # parser: the app gives memory back when the task ends, before the stream closes.
        self.final = replace(final, b64=(), image=image)
        return Completed(
            self.slot,
            image,
            final.meta,
            final.revised_prompt,
            final.usage,
            final.response_id or self.response_id,
            max(final.bytes_received, bytes_received),
        )


__all__ = [
    "DONE",
    "IMAGE_KEYS",
    "Final",
    "StreamParser",
    "b64_image",
    "b64_text",
    "decode_event",
    "iter_sse_json",
    "malformed",
    "response_usage",
    "take_results",
    "usage_of",
    "with_svg_usage",
]
