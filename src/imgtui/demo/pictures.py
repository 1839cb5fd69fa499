"""Deterministic pictures for the demo server.

Everything here is pure (no I/O, no global state except a small frame cache) and
synchronous; the server runs it in a worker thread.

* `render_picture` draws a pleasant abstract picture from a prompt: a hash of the prompt
  picks a colour scheme, a gradient background, a glow, soft blobs and some crisp line
  work. Same prompt (and variant) -> same pixels, at any size.
* `edit_picture` derives a picture from an input image: the input, cropped to the target
  size, blended with the prompt's pattern (or, with a mask, the pattern painted into the
  mask's transparent area only).
* `coarse_frame` makes partial frames: the final picture sampled onto a coarse grid and
  scaled back up with hard edges, so frames go from blocky to sharp.
* `noise_frame` makes incompressible random pixels for throughput benchmarks (cached).
* `encode` turns an image into PNG / JPEG / WebP bytes.

Rendering is done at a small size (long side `_SOFT_SIDE`) and scaled up; only the thin
line work is drawn at full resolution, which is what makes the final frame look sharp.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import os
import random
import threading
from collections import OrderedDict

from PIL import Image, ImageDraw, ImageFilter, ImageOps

RGB = tuple[int, int, int]

# Long side of the canvas the soft layers (gradient, glow, blobs) are drawn on.
_SOFT_SIDE = 384

# Grid widths of the partial frames, coarse to fine, by number of partials requested.
_PARTIAL_WIDTHS: dict[int, tuple[int, ...]] = {
    1: (16,),
    2: (8, 40),
    3: (8, 24, 64),
}

# How strongly an unmasked edit shows the prompt's pattern over the input image.
_EDIT_BLEND = 0.45


# --------------------------------------------------------------------------- helpers


def _rng(prompt: str, variant: int = 0) -> random.Random:
    """A random generator seeded from the prompt (stable across Python versions)."""
    digest = hashlib.sha256(f"{variant}\x00{prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, max(0.0, min(1.0, s)), max(0.0, min(1.0, v)))
    return (round(r * 255), round(g * 255), round(b * 255))


def _palette(rng: random.Random) -> tuple[RGB, RGB, list[RGB]]:
    """(dark background colour, lighter background colour, five accent colours)."""
    base = rng.random()
    # Hue offsets of a few classic colour schemes.
    schemes = (
        (0.0, 0.06, -0.06, 0.12, -0.12),  # analogous
        (0.0, 0.5, 0.04, 0.54, -0.04),  # complementary
        (0.0, 1 / 3, 2 / 3, 0.05, 0.38),  # triadic
        (0.0, 0.42, 0.58, 0.06, 0.5),  # split complementary
    )
    offsets = schemes[int(rng.random() * len(schemes))]
    accents = [
        _hsv(base + off + rng.uniform(-0.02, 0.02), rng.uniform(0.35, 0.85), rng.uniform(0.6, 1.0))
        for off in offsets
    ]
    dark = _hsv(base + rng.uniform(-0.08, 0.08), rng.uniform(0.4, 0.8), rng.uniform(0.12, 0.3))
    light = _hsv(base + offsets[1] * 0.5, rng.uniform(0.3, 0.6), rng.uniform(0.45, 0.7))
    return dark, light, accents


def _soft_size(width: int, height: int) -> tuple[int, int]:
    """Size of the small canvas for the soft layers (same aspect ratio as the target)."""
    scale = _SOFT_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _linear_gradient(size: tuple[int, int], angle: float) -> Image.Image:
    """An 'L' mask going 0 -> 255 across `size` at `angle` degrees."""
    w, h = size
    side = math.ceil(math.hypot(w, h)) + 2
    # Rotating a square leaves its inscribed circle covered; a centred w x h box fits in it.
    grad = Image.linear_gradient("L").resize((side, side), Image.Resampling.BILINEAR)
    grad = grad.rotate(angle, resample=Image.Resampling.BILINEAR)
    left, top = (side - w) // 2, (side - h) // 2
    return grad.crop((left, top, left + w, top + h))


def _glow_mask(size: tuple[int, int], cx: float, cy: float, radius: float) -> Image.Image:
    """An 'L' mask: bright at (cx, cy), fading to 0 at `radius` (pixels)."""
    w, h = size
    diameter = max(2, round(radius * 2))
    # radial_gradient is 0 at the centre and 181 at the middle of each edge (255 in the
    # corners): map it to a smooth fall-off that reaches 0 on the inscribed circle.
    spot = Image.radial_gradient("L").point(lambda r: round(255 * max(0.0, 1 - r / 181) ** 1.5))
    spot = spot.resize((diameter, diameter), Image.Resampling.BILINEAR)
    mask = Image.new("L", (w, h), 0)
    mask.paste(spot, (round(cx - radius), round(cy - radius)))
    return mask


# --------------------------------------------------------------------------- pictures


def render_picture(
    prompt: str,
    width: int,
    height: int,
    *,
    transparent: bool = False,
    variant: int = 0,
) -> Image.Image:
    """An abstract picture for `prompt`: RGB, or RGBA with a transparent background."""
    rng = _rng(prompt, variant)
    dark, light, accents = _palette(rng)
    soft = _soft_size(width, height)
    sw, sh = soft

    # 1. Background: a linear gradient between the two background colours.
    if transparent:
        canvas = Image.new("RGBA", soft, (0, 0, 0, 0))
    else:
        mask = _linear_gradient(soft, rng.uniform(0, 360))
        canvas = Image.composite(
            Image.new("RGBA", soft, light + (255,)), Image.new("RGBA", soft, dark + (255,)), mask
        )

        # 2. A large glow ("sun") in one accent colour.
        glow = _glow_mask(
            soft,
            rng.uniform(0.2, 0.8) * sw,
            rng.uniform(0.15, 0.6) * sh,
            rng.uniform(0.3, 0.6) * max(sw, sh),
        )
        glow = glow.point(lambda v: v * 0.8)
        canvas = Image.composite(Image.new("RGBA", soft, accents[0] + (255,)), canvas, glow)

    # 3. Soft blobs: translucent ellipses, blurred together.
    blobs = Image.new("RGBA", soft, (0, 0, 0, 0))
    draw = ImageDraw.Draw(blobs)
    for _ in range(4 + int(rng.random() * 4)):
        colour = accents[int(rng.random() * len(accents))]
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        rx = rng.uniform(0.06, 0.22) * max(sw, sh)
        ry = rx * rng.uniform(0.6, 1.4)
        draw.ellipse(
            (cx - rx, cy - ry, cx + rx, cy + ry), fill=colour + (round(rng.uniform(140, 230)),)
        )
    blobs = blobs.filter(ImageFilter.GaussianBlur(max(sw, sh) * 0.035))
    canvas = Image.alpha_composite(canvas, blobs)

    # Scale the soft layers up to full size.
    picture = canvas.resize((width, height), Image.Resampling.BICUBIC)

    # 4. Crisp line work at full resolution: rings and waves.
    lines = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(lines)
    unit = max(width, height)
    stroke = max(1, round(unit / 400))
    for _ in range(1 + int(rng.random() * 3)):  # concentric rings
        cx, cy = rng.uniform(0.15, 0.85) * width, rng.uniform(0.15, 0.85) * height
        colour = accents[int(rng.random() * len(accents))]
        r = rng.uniform(0.05, 0.12) * unit
        for ring in range(2 + int(rng.random() * 4)):
            rr = r * (1 + ring * 0.35)
            draw.ellipse(
                (cx - rr, cy - rr, cx + rr, cy + rr),
                outline=colour + (200 - ring * 30,),
                width=stroke,
            )
    for _ in range(3 + int(rng.random() * 4)):  # sine waves across the picture
        colour = accents[int(rng.random() * len(accents))]
        base_y = rng.uniform(0.3, 0.95) * height
        amp = rng.uniform(0.01, 0.06) * height
        freq = rng.uniform(1.0, 4.0) * 2 * math.pi / width
        phase = rng.uniform(0, 2 * math.pi)
        step = max(2, width // 160)
        points = [
            (x, base_y + amp * math.sin(x * freq + phase)) for x in range(0, width + step, step)
        ]
        draw.line(points, fill=colour + (170,), width=stroke, joint="curve")
    picture = Image.alpha_composite(picture, lines)

    return picture if transparent else picture.convert("RGB")


def sticker_on(picture: Image.Image, colour: RGB) -> Image.Image:
    """The picture cut to a round sticker (anti-aliased edge) on one flat colour: what a
    model asked for a subject on a key colour returns (RGB)."""
    w, h = picture.size
    scale = 4
    big = Image.new("L", (w * scale, h * scale), 0)
    r = 0.38 * min(w, h) * scale
    cx, cy = w * scale / 2, h * scale / 2
    ImageDraw.Draw(big).ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    mask = big.resize((w, h), Image.Resampling.LANCZOS)
    return Image.composite(picture.convert("RGB"), Image.new("RGB", (w, h), colour), mask)


def edit_picture(
    prompt: str,
    source: Image.Image,
    width: int,
    height: int,
    *,
    mask: Image.Image | None = None,
    variant: int = 0,
) -> Image.Image:
    """A picture derived from `source`: cropped to size and overlaid with the prompt's pattern.

    With a `mask` (PNG whose transparent pixels mark the area to edit), the pattern replaces
    the source only where the mask is transparent; otherwise it is blended over everything.
    """
    base = ImageOps.fit(source.convert("RGB"), (width, height), Image.Resampling.BICUBIC)
    pattern = render_picture(prompt, width, height, variant=variant)
    if mask is not None:
        alpha = (
            mask.convert("RGBA").getchannel("A").resize((width, height), Image.Resampling.BILINEAR)
        )
        # Transparent (alpha 0) = edit here: show the pattern there.
        return Image.composite(base, pattern, alpha)
    return Image.blend(base, pattern, _EDIT_BLEND)


def coarse_frame(final: Image.Image, index: int, count: int) -> Image.Image:
    """Partial frame `index` of `count` (0-based): `final` on a coarse grid, blocky.

    Grid widths grow with the index (e.g. 8, 24, 64 px for three partials), so frames
    look like a picture coming into focus.
    """
    widths = _PARTIAL_WIDTHS.get(count) or _PARTIAL_WIDTHS[3]
    grid_w = min(final.width, widths[min(index, len(widths) - 1)])
    grid_h = max(1, round(final.height * grid_w / final.width))
    small = final.resize((grid_w, grid_h), Image.Resampling.BOX)
    return small.resize(final.size, Image.Resampling.NEAREST)


def load_image(data: bytes) -> Image.Image:
    """Decode image bytes (raises PIL.UnidentifiedImageError / OSError if not an image)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --------------------------------------------------------------------------- encoding


def encode(image: Image.Image, output_format: str, compression: int | None = None) -> bytes:
    """Encode to `png` (fast zlib level 1), `jpeg` or `webp`. `compression` (0-100)
    applies to jpeg/webp."""
    buf = io.BytesIO()
    quality = 90 if compression is None else max(1, 100 - compression)
    if output_format == "jpeg":
        if image.mode != "RGB":
            flat = Image.new("RGB", image.size, (255, 255, 255))
            flat.paste(image, mask=image.getchannel("A") if "A" in image.getbands() else None)
            image = flat
        image.save(buf, "JPEG", quality=quality)
    elif output_format == "webp":
        image.save(buf, "WEBP", quality=quality, method=1)
    else:
        # zlib level 1: the frames are made per request, and at the default level (6) the
        # encode took 2.3x as long (~0.36 s for 1024x1024 here) for files ~1/3 smaller.
        image.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


# --------------------------------------------------------------------------- benchmark noise

_noise_cache: OrderedDict[tuple[int, int, str, str], bytes] = OrderedDict()
_noise_lock = threading.Lock()
_NOISE_CACHE_MAX = 32


def noise_frame(width: int, height: int, index: int | str, output_format: str) -> bytes:
    """Encoded random RGB pixels (incompressible), cached per (size, index, format).

    `index` is the partial image index or "final". Used by the `bench-noise` model so a
    throughput benchmark measures the client, not this server.
    """
    key = (width, height, str(index), output_format)
    with _noise_lock:
        if key in _noise_cache:
            _noise_cache.move_to_end(key)
            return _noise_cache[key]
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    if output_format == "png":
        buf = io.BytesIO()
        image.save(buf, "PNG", compress_level=0)  # random pixels do not compress anyway
        data = buf.getvalue()
    else:
        data = encode(image, output_format)
    with _noise_lock:
        _noise_cache[key] = data
        while len(_noise_cache) > _NOISE_CACHE_MAX:
            _noise_cache.popitem(last=False)
    return data
