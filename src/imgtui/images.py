"""The one Pillow pipeline: sniff, check, open, shrink, thumbnail.

Everything here is plain Pillow, without Textual, and safe to call from a worker thread.
Decoding a 1536x1024 PNG costs tens of milliseconds, so the TUI never calls these on its
UI thread (STYLE habit 5): pictures are decoded and shrunk to their cell box in a thread.

- `sniff_mime` / `image_extension`: the type of image bytes from their magic number
  (defined beside the wire protocol in `imgtui.api.request`, which needs them too).
- `check_image`: a path the user typed -> an existing PNG/JPEG/WebP/GIF file (input images
  and masks, PROTOCOL.md §1), else `RequestError` naming the field.
- `open_image`, `shrink`, `thumbnail`, `image_size`: decode and shrink for the screen.
- `thumbnail_file`: a cached PNG thumbnail on disk (history cards after a restart).
- `Frames`, `picture`: an animated image (GIF, animated WebP or PNG) as its frames shrunk
  for the screen with their durations; `picture` gives `Frames` or a still, whichever the
  source is.

Pillow is imported when first needed, not at import: the CLI and the app's first frame
do not pay for it.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imgtui.api.imagecheck import is_svg
from imgtui.api.request import RequestError, image_extension, sniff_mime

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    "BACKDROP",
    "Frames",
    "ImageFileError",
    "check_image",
    "image_extension",
    "image_size",
    "is_animated",
    "open_image",
    "picture",
    "pictures",
    "shrink",
    "shrink_all",
    "sniff_mime",
    "thumbnail",
    "thumbnail_file",
]

# Dark backdrop for transparent images (matches the card background closely enough).
BACKDROP = (24, 24, 28)


class ImageFileError(Exception):
    """An image file could not be read or a thumbnail not written; the message names it."""


def check_image(text: str, field: str) -> Path:
    """The typed path as an existing image file (resolved), else RequestError(field, why).

    Only the first 16 bytes are read: the magic number must say PNG, JPEG, WebP or GIF,
    and a `mask` must be a PNG (the edits endpoint wants a PNG with alpha, PROTOCOL.md §1).
    """
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise RequestError(field, "type a path")
    if not path.is_file():
        raise RequestError(field, f"no such file: {path}")
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise RequestError(field, f"cannot read {path}: {exc.strerror}") from None
    mime = sniff_mime(head)
    if mime is None:
        raise RequestError(field, f"{path.name} is not a PNG, JPEG, WebP or GIF image")
    if field in ("mask", "markup") and mime != "image/png":
        raise RequestError(field, "must be a PNG with an alpha channel")
    return path.resolve()


def open_image(source: bytes | Path | str) -> Image:
    """Open image bytes or a file lazily (pixels decode on first use). Raises OSError,
    `PIL.UnidentifiedImageError` (an OSError) or `DecompressionBombError`."""
    from PIL import Image as PILImage

    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        with path.open("rb") as f:
            head = f.read(1024)
        if not is_svg(head):
            return PILImage.open(path)
        data = path.read_bytes()
    if is_svg(data[:1024]):
        return PILImage.open(io.BytesIO(rasterise_svg(data)))
    return PILImage.open(io.BytesIO(data))


#: The longest side an SVG is rasterised at for the screen (a terminal shows far less).
SVG_RASTER_MAX = 2048


def rasterise_svg(data: bytes) -> bytes:
    """PNG bytes of SVG markup, drawn by resvg (resvg-py), at its own size but at most
    `SVG_RASTER_MAX` pixels on the longest side. The SVG file itself stays as received.
    Raises ValueError when the SVG can't be drawn (a DTD, bad markup, no size)."""
    import resvg_py

    from imgtui.api.imagecheck import BrokenImage, check_image

    try:
        info = check_image(data)  # well-formed, <svg> root, no DTD, a size within limits
    except BrokenImage as exc:
        raise ValueError(str(exc)) from None
    scale = min(1.0, SVG_RASTER_MAX / max(info.width, info.height))
    width = max(1, round(info.width * scale))
    with tempfile.TemporaryDirectory(prefix="imgtui-svg-") as empty:
        return bytes(
            resvg_py.svg_to_bytes(
                svg_string=self_contained_svg(data), width=width, resources_dir=empty
            )
        )


#: `data:` URIs an SVG result may embed: raster images only. A nested SVG could carry
#: references of its own, so it is dropped like a file reference.
_EMBEDDED_OK = ("data:image/png", "data:image/jpeg", "data:image/webp", "data:image/gif")


def self_contained_svg(data: bytes) -> str:
    """SVG markup (already checked by `check_image`) with every reference to something
    outside it removed: any `href` / `xlink:href` that is not a fragment (`#id`) or an
    embedded raster `data:` URI is dropped, and `<style>` `@import` rules are refused.

    An SVG comes from a server, so it is hostile: resvg resolves `<image href="/any/file">`
    against the local disk (a hostile result could draw the user's private pictures, or
    hang the picture thread on `/dev/zero`). Rasterising is for the screen only; the file
    is kept as received. Raises ValueError on markup that does not parse."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"The SVG is damaged or cut off: {exc}") from None
    for element in root.iter():
        for name in [a for a in element.attrib if a.rsplit("}", 1)[-1] == "href"]:
            value = element.attrib[name].strip()
            if not (value.startswith("#") or value.lower().startswith(_EMBEDDED_OK)):
                del element.attrib[name]
        if element.tag.rsplit("}", 1)[-1] == "style" and "@import" in (element.text or ""):
            element.text = ""
    for prefix, uri in (("", _SVG_NS), ("xlink", _XLINK_NS)):
        ET.register_namespace(prefix, uri)
    return ET.tostring(root, encoding="unicode")


_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"


def shrink(img: Image, box: tuple[int, int], checker: int | None = None) -> Image:
    """An RGB copy of `img` no larger than `box` = (width, height) pixels, aspect kept,
    never enlarged; transparent parts composited on `BACKDROP`, or with `checker` on a
    checkerboard of that many pixels per square (the detail view shows transparency so)."""
    return shrink_all(img, [(box, checker)])[0]


def shrink_all(img: Image, targets: Sequence[tuple[tuple[int, int], int | None]]) -> list[Image]:
    """`shrink(img, box, checker)` for each `(box, checker)` of `targets`, in order, from one
    pass over the full-size pixels: one `reduce()` to the largest box, then each box's own
    last step from that (at 1.5K a full-size reduce is ~1 ms, at 4K ~5 ms: a card's and the
    preview pane's pictures of one frame cost one). [] for no targets."""
    from PIL import Image as PILImage

    if not targets:
        return []
    largest = max((box for box, _ in targets), key=lambda b: b[0] * b[1])
    if img.format == "JPEG":
        img.draft("RGB", largest)  # let libjpeg decode at a reduced scale
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img if img.mode == "RGBA" else img.convert("RGBA")
    elif img.mode != "RGB":
        img = img.convert("RGB")
    # reduce() first (fast integer box filter), then a good filter for the last step; both
    # premultiply alpha. Both make a new small image, so the decoded source is never copied
    # whole (for a 1536x1024 frame a fresh 4.5 MB buffer costs more than the shrinking).
    factor = min(min(img.width // max(1, w), img.height // max(1, h)) for (w, h), _ in targets)
    reduced = img.reduce(factor) if factor >= 2 else None
    made = []
    for (w, h), checker in targets:
        small = (reduced if reduced is not None else img).copy()
        small.thumbnail((w, h), PILImage.Resampling.BILINEAR)
        if small.mode == "RGBA":  # transparent parts on the backdrop, at the small size
            ground = (
                checkerboard(small.size, checker)
                if checker
                else PILImage.new("RGBA", small.size, (*BACKDROP, 255))
            )
            small = PILImage.alpha_composite(ground, small).convert("RGB")
        made.append(small)
    return made


CHECKER_COLOURS = ((102, 102, 102), (153, 153, 153))


def checkerboard(size: tuple[int, int], square: int) -> Image:
    """An RGBA checkerboard of `square`-pixel squares in two greys (`CHECKER_COLOURS`)."""
    from PIL import Image as PILImage

    w, h = size
    cols, rows = -(-w // square), -(-h // square)
    small = PILImage.new("RGBA", (cols, rows), (*CHECKER_COLOURS[0], 255))
    light = (*CHECKER_COLOURS[1], 255)
    for y in range(rows):
        for x in range((y + 1) % 2, cols, 2):
            small.putpixel((x, y), light)
    board = small.resize((cols * square, rows * square), PILImage.Resampling.NEAREST)
    return board.crop((0, 0, w, h))


def thumbnail(
    source: bytes | Path | str, box: tuple[int, int], checker: int | None = None
) -> Image | None:
    """Decode + shrink in one go (call from a thread). None when the data is not an image.
    `checker`: transparency shown on a checkerboard (see `shrink`)."""
    from PIL import Image as PILImage

    try:
        with open_image(source) as img:
            return shrink(img, box, checker)
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError):
        return None


#: Frames shorter than this are shown for `SHORT_FRAME_MS` instead, as browsers do: old
#: GIFs say 0 or 10 ms and mean "as fast as the viewer goes" (WHATWG HTML's image
#: decoding notes; Firefox and Chromium clamp durations <= 10 ms to 100 ms).
MIN_FRAME_MS = 20
SHORT_FRAME_MS = 100
#: At most this many frames are kept for the screen (the API sends 2-16, `frame_count`).
MAX_FRAMES = 64


@dataclass(frozen=True, eq=False)
class Frames:
    """An animation ready for the screen: `pictures[i]` (RGB, within the box asked for)
    is shown for `durations_ms[i]` milliseconds, in a loop played `loops` times (0: for
    ever; from the GIF's NETSCAPE2.0 loop count, Pillow's `info["loop"]`: 0 = for ever,
    absent = once, N = N repeats after the first play)."""

    pictures: tuple[Image, ...]
    durations_ms: tuple[int, ...]
    loops: int = 0

    def __len__(self) -> int:
        return len(self.pictures)

    @property
    def first(self) -> Image:
        return self.pictures[0]


def frame_ms(duration: object) -> int:
    """A frame's display time in ms from Pillow's `info["duration"]` (see `MIN_FRAME_MS`)."""
    try:
        ms = int(duration)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return SHORT_FRAME_MS
    return ms if ms >= MIN_FRAME_MS else SHORT_FRAME_MS


def picture(
    source: bytes | Path | str, box: tuple[int, int], checker: int | None = None
) -> Frames | Image | None:
    """What the screen shows for `source` (call from a thread): `Frames` when it is an
    animated image (GIF, animated WebP, APNG: more than one frame), else the still picture
    as `thumbnail` makes it; None when the data is not an image. Each frame is shrunk like
    `shrink(img, box, checker)`; Pillow composes GIF frames (disposal, transparency) as it
    seeks, so every frame is a whole picture."""
    return pictures(source, [(box, checker)])[0]


def pictures(
    source: bytes | Path | str, targets: Sequence[tuple[tuple[int, int], int | None]]
) -> list[Frames | Image | None]:
    """`picture(source, box, checker)` for each `(box, checker)` of `targets`, in order,
    from one decode of `source` (call from a thread): a card's and the preview pane's
    pictures of one frame cost one decode and two shrinks, not two decodes. A JPEG is
    decoded at the reduced scale the largest box allows (`shrink`). All None when the data
    is not an image."""
    from PIL import Image as PILImage

    if not targets:
        return []
    try:
        with open_image(source) as img:
            if not getattr(img, "is_animated", False):
                return list(shrink_all(img, targets))  # (a JPEG at the largest box's scale)
            frames: list[list[Image]] = [[] for _ in targets]
            durations = []
            for index in range(min(getattr(img, "n_frames", 1), MAX_FRAMES)):
                img.seek(index)
                durations.append(frame_ms(img.info.get("duration")))
                for made, small in zip(frames, shrink_all(img, targets), strict=True):
                    made.append(small)
            loop = img.info.get("loop")
            loops = 1 if loop is None else (0 if loop == 0 else int(loop) + 1)
            return [Frames(tuple(made), tuple(durations), loops) for made in frames]
    except (OSError, ValueError, SyntaxError, EOFError, PILImage.DecompressionBombError):
        return [None] * len(targets)


def is_animated(source: bytes | Path | str) -> bool:
    """The image has more than one frame (reads the header and seeks to frame 2 only)."""
    from PIL import Image as PILImage

    try:
        with open_image(source) as img:
            return bool(getattr(img, "is_animated", False))
    except (OSError, ValueError, SyntaxError, EOFError, PILImage.DecompressionBombError):
        return False


def image_size(source: bytes | Path | str) -> tuple[int, int] | None:
    """(width, height) in pixels from the header only (cheap), or None when not an image."""
    from PIL import Image as PILImage

    try:
        with open_image(source) as img:
            return img.size
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError):
        return None


def thumbnail_file(image: Path, out_dir: Path, width_px: int, height_px: int) -> Path:
    """A PNG of `image` no larger than width_px x height_px (aspect kept) in `out_dir`,
    made once and cached. Raises ImageFileError naming the file.

    The file name hashes the source path, its mtime and size, and the box, so a changed
    source gets a new thumbnail. The write is atomic (temporary file + rename).
    """
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    image = Path(image).absolute()
    try:
        st = image.stat()
    except OSError as exc:
        raise ImageFileError(f"cannot read {image}: {exc.strerror or exc}") from None
    w, h = max(1, int(width_px)), max(1, int(height_px))
    key = hashlib.sha256(f"{image}|{st.st_mtime_ns}|{st.st_size}|{w}x{h}".encode()).hexdigest()
    out = Path(out_dir) / f"{key[:32]}.png"
    if out.exists():
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open_image(image) as im:
            im.draft("RGB", (w, h))  # JPEG: decode at a reduced scale when possible
            im.thumbnail((w, h))
            small = im if im.mode in ("1", "L", "LA", "P", "RGB", "RGBA") else im.convert("RGBA")
            fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=".thumb.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    small.save(f, format="PNG")
                os.replace(tmp_name, out)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
    except (OSError, UnidentifiedImageError, ValueError, PILImage.DecompressionBombError) as exc:
        raise ImageFileError(f"cannot make a thumbnail of {image}: {exc}") from None
    return out
