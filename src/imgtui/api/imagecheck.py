"""Final images must be images: format and dimensions read from the header, never a full
decode, so truncated files, non-image bytes and decompression bombs are refused (issue 10).

Pillow opens lazily (`Image.open` reads the header only); the pixel count is checked
before anything else touches the data. Then a cheap structural check per format: PNG
chunk CRCs through IEND (`verify()`, no inflate), JPEG's end-of-image marker, WebP's RIFF
length, GIF's trailer byte.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from imgtui.api.limits import DEFAULT_LIMITS, Limits

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")


class BrokenImage(ValueError):
    """The bytes are not a usable image; the message says why (for the user)."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: PNG, JPEG, WEBP, GIF
    width: int
    height: int


def check_image(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ImageInfo:
    """Format and size of image bytes; raises BrokenImage when they are not a whole image
    of an accepted format within the limits. Costs a header parse and a CRC pass."""
    from PIL import Image

    if not data:
        raise BrokenImage("The image is empty (0 bytes)")
    if len(data) > limits.max_image:
        raise BrokenImage(f"The image is {len(data):,} bytes; at most {limits.max_image:,}")
    if is_svg(data):
        return _svg_info(data, limits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except Image.DecompressionBombError as exc:
            raise BrokenImage(f"Refused a decompression bomb: {exc}") from None
        except (OSError, ValueError, SyntaxError) as exc:
            why = "unknown format" if "cannot identify" in str(exc) else str(exc)
            raise BrokenImage(
                f"Not an image ({len(data):,} bytes starting {data[:12]!r}): {why}"
            ) from None
        with image:
            fmt, (width, height) = image.format or "?", image.size
            if width <= 0 or height <= 0:
                raise BrokenImage(f"The {fmt} image has no pixels ({width}x{height})")
            if width * height > limits.max_pixels:
                raise BrokenImage(
                    f"Refused a {width}x{height} {fmt} ({width * height:,} pixels; at most "
                    f"{limits.max_pixels:,}): a decompression bomb or not an image for a screen"
                )
            try:
                if fmt == "PNG":
                    image.verify()  # every chunk's CRC up to IEND; no pixel data inflated
            except Exception as exc:  # Pillow raises several types here
                raise BrokenImage(f"The {fmt} image is damaged or cut off: {exc}") from None
    _check_end(fmt, data)
    return ImageInfo(fmt, width, height)


def header_ok(data: bytes, limits: Limits = DEFAULT_LIMITS) -> bool:
    """Whether image bytes open as an accepted format within the pixel limit, from the
    header alone (for partial frames: previews are not worth a full check, but a bomb
    must never reach a decoder)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return False
    return 0 < width * height <= limits.max_pixels and len(data) <= limits.max_image


def is_svg(data: bytes) -> bool:
    """Whether the bytes look like SVG markup (an SVG result is text, not a raster)."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head)


def _svg_info(data: bytes, limits: Limits) -> ImageInfo:
    """An SVG result (shared/OPENAI-IMAGES.md §2.2): well-formed XML whose root is <svg>,
    with no DTD (entity expansion is how XML bombs work), and its size in pixels from
    width/height, else the viewBox."""
    import re
    import xml.etree.ElementTree as ET

    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise BrokenImage("Refused an SVG with a DTD (entities can expand without bound)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BrokenImage(f"The SVG is damaged or cut off: {exc}") from None
    if root.tag.rsplit("}", 1)[-1] != "svg":
        raise BrokenImage(f"Not an SVG image: the root element is {root.tag!r}")

    def number(text: str | None) -> float:
        m = re.match(r"\s*([0-9]+(?:\.[0-9]*)?)\s*(px)?\s*$", text or "")
        return float(m[1]) if m else 0.0

    width, height = number(root.get("width")), number(root.get("height"))
    if not (width and height):
        box = (root.get("viewBox") or "").replace(",", " ").split()
        if len(box) == 4:
            width, height = number(box[2]), number(box[3])
    w, h = round(width), round(height)
    if w <= 0 or h <= 0:
        raise BrokenImage("The SVG has no size (width/height or viewBox)")
    if w * h > limits.max_pixels:
        raise BrokenImage(
            f"Refused a {w}x{h} SVG ({w * h:,} pixels; at most {limits.max_pixels:,})"
        )
    return ImageInfo("SVG", w, h)


def _check_end(fmt: str, data: bytes) -> None:
    cut = False
    if fmt == "PNG":
        cut = b"IEND\xaeB`\x82" not in data[-64:]
    elif fmt == "JPEG":
        cut = b"\xff\xd9" not in data[-4096:]
    elif fmt == "WEBP":
        cut = int.from_bytes(data[4:8], "little") + 8 > len(data)
    elif fmt == "GIF":
        cut = not data.rstrip(b"\x00").endswith(b"\x3b")
    if cut:
        raise BrokenImage(f"The {fmt} image is cut off ({len(data):,} bytes)")
