"""From request parameters to encoded frames: coarse partials, then the final image.

The drawing itself lives in `pictures.py` (Pillow); this module picks what to draw (a
picture from the prompt, an edit of an input image, or benchmark noise) and runs the
work in worker threads so the event loop stays responsive.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from imgtui.demo import today
from imgtui.demo.params import ImageParams
from imgtui.demo.state import bad_request, to_b64

#: Model that produces incompressible random pixels (throughput benchmark).
NOISE_MODEL = "bench-noise"
#: A prompt asking for a flat key colour (imgtui's local transparency) gets one: the
#: picture comes as a round sticker on pure green, as a model that follows it would.
KEY_COLOUR = (0, 255, 0)


def _asks_for_key_colour(prompt: str) -> bool:
    from imgtui.transparency import PROMPT_INSTRUCTION

    return PROMPT_INSTRUCTION in prompt


def _pictures():
    """The picture module, imported on first use (it pulls in Pillow)."""
    from imgtui.demo import pictures

    return pictures


@dataclass
class Source:
    """An input picture to derive the result from (edits, Responses with images)."""

    image: Any  # PIL.Image.Image
    mask: Any = None  # PIL.Image.Image | None


async def decode_source(image: bytes, mask: bytes | None, param: str) -> Source:
    """Decode input image bytes (in a worker thread); ApiError if they are not an image."""
    load = _pictures().load_image

    def decode() -> Source:
        return Source(load(image), load(mask) if mask else None)

    try:
        return await asyncio.to_thread(decode)
    except Exception:  # PIL raises several kinds for junk input
        raise bad_request(
            "Invalid input image - format must be in ['image/jpeg', 'image/png', 'image/webp'].",
            param=param,
            code="invalid_image_file",
        ) from None


class Frames:
    """The encoded frames of one picture: coarse partials, then the sharp final image.

    The final picture is rendered once, lazily, and the partials are derived from it.
    All work happens in worker threads so the event loop stays responsive.
    """

    def __init__(self, params: ImageParams, source: Source | None = None, variant: int = 0) -> None:
        self.params = params
        self.source = source
        self.variant = params.variant + variant
        self.noise = params.model == NOISE_MODEL
        self._final: Any = None

    def _final_image(self) -> Any:
        if self._final is None:
            pics, p = _pictures(), self.params
            if self.source is not None:
                self._final = pics.edit_picture(
                    p.prompt,
                    self.source.image,
                    p.width,
                    p.height,
                    mask=self.source.mask,
                    variant=self.variant,
                )
            elif _asks_for_key_colour(p.prompt):
                picture = pics.render_picture(p.prompt, p.width, p.height, variant=self.variant)
                self._final = pics.sticker_on(picture, KEY_COLOUR)
            else:
                transparent = p.background == "transparent"
                self._final = pics.render_picture(
                    p.prompt, p.width, p.height, transparent=transparent, variant=self.variant
                )
        return self._final

    def _partial(self, index: int, count: int) -> str:
        p = self.params
        if self.noise:
            return to_b64(_pictures().noise_frame(p.width, p.height, index, p.output_format))
        frame = _pictures().coarse_frame(self._final_image(), index, count)
        return to_b64(_pictures().encode(frame, p.output_format, p.output_compression))

    def _final_bytes(self) -> bytes:
        p = self.params
        if self.noise:
            return _pictures().noise_frame(p.width, p.height, "final", p.output_format)
        if p.output_format == "svg":
            return today.svg_bytes(p.prompt, p.width, p.height)
        if p.output_format == "gif":
            return today.gif_bytes(self._final_image(), p.frame_count, p.frame_duration_ms)
        return _pictures().encode(self._final_image(), p.output_format, p.output_compression)

    async def partial(self, index: int, count: int) -> str:
        """Base64 of partial frame `index` of `count`."""
        return await asyncio.to_thread(self._partial, index, count)

    async def final(self) -> bytes:
        """The final image, encoded."""
        return await asyncio.to_thread(self._final_bytes)
