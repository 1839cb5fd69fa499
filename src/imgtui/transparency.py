"""Local transparency: ask for a flat key colour, then key it out here.

For models and relays that refuse `background: transparent`, the prompt asks for the subject
on one flat key colour (pure green #00FF00, or magenta #FF00FF when the subject is green) and
the finished image is keyed out locally, the way gpt_image_playground does it (its
`src/lib/transparentImage.ts`, v0.7), with numpy and scipy doing the image work:

1. the key colour is read from the border pixels (green or magenta, whichever more border
   pixels are near; the border's median colour when neither is);
2. each pixel gets a background confidence from its colour distance to the key
   (1 on the key, 0 at distance >= 150 in RGB);
3. the background is what a flood fill from the border reaches through pixels of
   confidence >= 0.18 (`scipy.ndimage.label`, 4-connected);
4. enclosed key-coloured holes (the inside of a ring, the gap under an arm) are removed
   too when they are clearly key-coloured (mean confidence >= 0.42, or enough strongly
   keyed pixels);
5. alpha is softened over the first 4 pixels inside the subject's edge
   (`scipy.ndimage.distance_transform_cdt`), by how much key colour each edge pixel holds;
6. colour spill is removed: edge pixels are un-mixed from the key colour, and the key
   channel is clamped so no green (or magenta) fringe is left.

`key_out(png_or_jpeg_bytes)` returns an RGBA PNG; the caller keeps the original beside it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

GREEN = (0, 255, 0)
MAGENTA = (255, 0, 255)

# Confidence thresholds, from the playground's keyer (see the module docstring).
_FLOOD = 0.18  # a border-connected pixel this keyed is background
_HOLE_SEED = 0.68  # an enclosed region needs at least one pixel this keyed ...
_HOLE_GROW = 0.24  # ... and grows through pixels this keyed
_EDGE_BAND = 4  # pixels inside the subject's edge whose alpha is softened
_EDGE_STRENGTH = (0.0, 1.0, 0.75, 0.45, 0.25)  # by distance to the background, 1..4
_EDGE_FLOOR = (255, 48, 128, 196, 196)  # minimum alpha by distance, 1..4
_SPILL_STRENGTH = (0.0, 0.55, 0.32, 0.16, 0.16)

PROMPT_INSTRUCTION = (
    "Background instruction: if the subject contains any green (green, teal, lime, olive, "
    "grass green...), fill the whole background with pure magenta #FF00FF; otherwise fill it "
    "with pure green #00FF00. The background is that one flat colour only: no gradient, "
    "texture, shadow, lighting change, floor or scenery. One complete subject with crisp, "
    "clean outlines and no colour bleeding into the background. The chosen background colour "
    "must not appear in the subject, its outline, glow, shadow or reflections."
)


class TransparencyError(ValueError):
    """The image cannot be keyed (unreadable, or not an image)."""


@dataclass(frozen=True)
class KeyResult:
    """A keyed-out image: `png` is RGBA PNG bytes; `key` the RGB key colour used;
    `transparent` the fraction of pixels made fully transparent (0..1)."""

    png: bytes
    key: tuple[int, int, int]
    transparent: float


def transparent_prompt(prompt: str) -> str:
    """The prompt to send for local transparency: the user's prompt, then the instruction."""
    return f"{prompt.strip()}\n\n{PROMPT_INSTRUCTION}"


def detect_key(rgb) -> tuple[int, int, int]:
    """The key colour of an HxWx3 uint8 array, read from its border pixels.

    Green or magenta when more border pixels lie within distance 100 of one of them than of
    the other (green wins ties only when it has any); else the border's median colour.
    """
    import numpy as np

    border = _border(rgb).astype(np.float32)
    near = {
        key: int((np.linalg.norm(border - np.array(key, np.float32), axis=1) < 100).sum())
        for key in (GREEN, MAGENTA)
    }
    if near[GREEN] == 0 and near[MAGENTA] == 0:
        median = np.median(border, axis=0)
        return (int(median[0]), int(median[1]), int(median[2]))
    return MAGENTA if near[MAGENTA] > near[GREEN] else GREEN


def key_out(data: bytes, key: tuple[int, int, int] | None = None) -> KeyResult:
    """Key the flat background out of an image (PNG, JPEG, WebP bytes).

    Returns an RGBA PNG. `key` forces the key colour; by default it is read from the border.
    Raises TransparencyError when `data` is not a readable image.
    """
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise TransparencyError(f"not a readable image: {exc}") from None
    if rgb.shape[0] < 3 or rgb.shape[1] < 3:
        raise TransparencyError("image too small to key (under 3x3 pixels)")
    key = key or detect_key(rgb)
    rgba = key_out_array(rgb, key)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG", optimize=False)
    transparent = float((rgba[..., 3] == 0).mean())
    return KeyResult(png=buf.getvalue(), key=key, transparent=transparent)


def key_out_array(rgb, key: tuple[int, int, int]):
    """The keyed RGBA (HxWx4 uint8) of an HxWx3 uint8 array, for key colour `key`."""
    import numpy as np
    from scipy import ndimage

    pixels = rgb.astype(np.float32)
    key_arr = np.array(key, np.float32)
    confidence = np.clip((150.0 - np.linalg.norm(pixels - key_arr, axis=2)) / 150.0, 0.0, 1.0)

    background = _flood_from_border(confidence >= _FLOOD)
    background |= _enclosed_holes(confidence, background)

    # Distance (in 4-connected steps) from each subject pixel to the background; 0 on it.
    distance = ndimage.distance_transform_cdt(~background, metric="taxicab")
    band = np.where(distance <= _EDGE_BAND, distance, 0)  # 1..4 in the edge band, else 0
    mix = _key_channel_mix(pixels, key)

    alpha = np.full(confidence.shape, 255.0, np.float32)
    edge = band >= 1
    strength = np.take(np.array(_EDGE_STRENGTH, np.float32), band)
    transparency = np.maximum(np.clip((confidence - 0.08) / 0.84, 0, 1) * strength, mix * strength)
    edge_alpha = np.maximum(
        255.0 * (1.0 - np.clip(transparency, 0, 1)),
        np.take(np.array(_EDGE_FLOOR, np.float32), band),
    )
    alpha = np.where(edge, edge_alpha, alpha)
    # Key-coloured pixels deep inside the subject (semi-transparent glass, fringes) fade too.
    inner = (distance > _EDGE_BAND) & (confidence >= 0.46) & (mix >= 0.45)
    alpha = np.where(inner, np.maximum(255.0 * (1.0 - mix * 0.75), 96.0), alpha)
    alpha = np.where(background, 0.0, alpha)

    cleaned = _remove_spill(pixels, alpha, confidence, band, mix, key_arr, distance, key)
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    out[..., :3] = np.clip(np.rint(cleaned), 0, 255).astype(np.uint8)
    out[..., 3] = np.clip(np.rint(alpha), 0, 255).astype(np.uint8)
    out[background, :3] = 0  # fully transparent pixels carry no colour
    return out


def _border(rgb):
    import numpy as np

    return np.concatenate([rgb[0], rgb[-1], rgb[1:-1, 0], rgb[1:-1, -1]])


def _flood_from_border(candidate):
    """The candidate pixels 4-connected to the image border."""
    import numpy as np
    from scipy import ndimage

    labels, count = ndimage.label(candidate)
    if count == 0:
        return np.zeros_like(candidate)
    edge_labels = np.unique(_border(labels[..., None])[:, 0])
    edge_labels = edge_labels[edge_labels != 0]
    return np.isin(labels, edge_labels)


def _enclosed_holes(confidence, background):
    """Key-coloured regions not reached from the border that should be background too."""
    import numpy as np
    from scipy import ndimage

    grow = (confidence >= _HOLE_GROW) & ~background
    labels, count = ndimage.label(grow)
    if count == 0:
        return np.zeros_like(background)
    index = np.arange(1, count + 1)
    size = ndimage.sum_labels(np.ones_like(confidence), labels, index)
    mean = ndimage.mean(confidence, labels, index)
    strict = ndimage.sum_labels(confidence >= _HOLE_SEED, labels, index) / size
    strong = ndimage.sum_labels(confidence >= 0.86, labels, index) / size
    seeded = strict > 0
    remove = seeded & ((mean >= 0.42) | (strict >= 0.18) | (strong >= 0.05))
    keep_labels = index[remove]
    return np.isin(labels, keep_labels)


def _key_channel_mix(pixels, key: tuple[int, int, int]):
    """0..1: how far a pixel's key channel(s) stand above the others (spill strength)."""
    import numpy as np

    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    if key == GREEN:
        return np.clip((g - np.minimum(r, b)) / 255.0, 0, 1)
    if key == MAGENTA:
        return np.clip((np.minimum(r, b) - g * 0.65) / 255.0, 0, 1)
    # Any other key: how close the pixel's chroma direction is to the key's.
    k = np.array(key, np.float32)
    k_chroma = k - k.mean()
    norm = float(np.linalg.norm(k_chroma)) or 1.0
    p_chroma = pixels - pixels.mean(axis=2, keepdims=True)
    return np.clip((p_chroma @ (k_chroma / norm)) / 255.0, 0, 1)


def _remove_spill(pixels, alpha, confidence, band, mix, key_arr, distance, key):
    """Un-mix edge pixels from the key colour, then clamp the key channel (classic despill)."""
    import numpy as np

    spill_strength = np.take(np.array(_SPILL_STRENGTH, np.float32), band)
    spill_strength = np.where((distance > _EDGE_BAND) & (confidence >= 0.46), 0.35, spill_strength)
    background_mix = np.clip(
        np.maximum.reduce(
            [
                (255.0 - alpha) / 255.0,
                np.clip((confidence - 0.1) / 0.9, 0, 1) * spill_strength,
                mix * spill_strength,
            ]
        ),
        0,
        1,
    )
    active = (alpha > 0) & (background_mix > 0)
    foreground = np.maximum(0.08, 1.0 - background_mix)[..., None]
    unmixed = (pixels - key_arr * background_mix[..., None]) / foreground
    out = np.where(active[..., None], np.clip(unmixed, 0, 255), pixels)

    near_edge = (band >= 1) & (alpha > 0)
    r, g, b = out[..., 0], out[..., 1], out[..., 2]
    if key == GREEN:
        out[..., 1] = np.where(near_edge, np.minimum(g, np.maximum(r, b)), g)
    elif key == MAGENTA:
        excess = np.clip(np.minimum(r, b) - g, 0, None)
        out[..., 0] = np.where(near_edge, r - excess, r)
        out[..., 2] = np.where(near_edge, b - excess, b)
    return out
