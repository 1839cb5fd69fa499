"""Local transparency (imgtui.transparency) on synthetic key-coloured images."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from imgtui.transparency import (
    GREEN,
    MAGENTA,
    PROMPT_INSTRUCTION,
    TransparencyError,
    detect_key,
    key_out,
    transparent_prompt,
)

RED = (220, 30, 30)


def _png(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _sticker(bg, fg, size: int = 96, scale: int = 4, ring: bool = False) -> Image.Image:
    """A disc (or a ring with a key-coloured hole) on a flat background, drawn large and
    shrunk so its edge is anti-aliased like a generated image's."""
    big = Image.new("RGB", (size * scale, size * scale), bg)
    d = ImageDraw.Draw(big)
    m = 16 * scale
    d.ellipse((m, m, size * scale - m, size * scale - m), fill=fg)
    if ring:
        h = 36 * scale
        d.ellipse((h, h, size * scale - h, size * scale - h), fill=bg)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def _rgba(result) -> np.ndarray:
    with Image.open(io.BytesIO(result.png)) as im:
        assert im.mode == "RGBA"
        return np.asarray(im)


def test_green_background_is_removed_and_the_subject_kept():
    src = _sticker(GREEN, RED)
    result = key_out(_png(src))
    out = _rgba(result)
    assert result.key == GREEN
    assert out[0, 0, 3] == 0 and out[-1, -1, 3] == 0 and out[0, -1, 3] == 0
    assert out[48, 48, 3] == 255
    assert tuple(out[48, 48, :3]) == RED  # the subject's colour is untouched
    # About the area outside the disc (radius 32 of 96): 1 - pi*32^2/96^2 ~ 0.65.
    assert 0.6 < result.transparent < 0.7


def test_edge_alpha_is_softened_and_green_spill_removed():
    src = _sticker(GREEN, RED)
    rgb = np.asarray(src)
    out = _rgba(key_out(_png(src)))
    row = 48
    xs = [x for x in range(0, 48) if 0 < out[row, x, 3] < 255]
    assert xs, "the anti-aliased edge gets intermediate alpha"
    # The source's edge pixels are red/green blends; after keying none keeps the green cast.
    for x in xs:
        _, g, b = (int(v) for v in rgb[row, x])
        assert g > b  # the source pixel had green spill
        r2, g2, b2, _ = (int(v) for v in out[row, x])
        assert g2 <= max(r2, b2)


def test_enclosed_key_coloured_hole_is_removed():
    src = _sticker(GREEN, RED, ring=True)
    out = _rgba(key_out(_png(src)))
    assert out[48, 48, 3] == 0  # the hole in the middle of the ring
    assert out[48, 22, 3] == 255  # the ring itself


def test_green_subject_on_magenta_is_keyed_with_magenta():
    src = _sticker(MAGENTA, (40, 200, 60))
    result = key_out(_png(src))
    out = _rgba(result)
    assert result.key == MAGENTA
    assert out[0, 0, 3] == 0 and out[48, 48, 3] == 255
    assert tuple(out[48, 48, :3]) == (40, 200, 60)


def test_a_noisy_jpeg_background_is_still_removed():
    rng = np.random.default_rng(7)
    src = np.asarray(_sticker(GREEN, RED)).astype(np.int16)
    noisy = np.clip(src + rng.integers(-25, 26, src.shape), 0, 255).astype(np.uint8)
    result = key_out(_png(Image.fromarray(noisy), "JPEG", quality=80))
    out = _rgba(result)
    assert result.key == GREEN
    corners = [out[2, 2, 3], out[2, -3, 3], out[-3, 2, 3], out[-3, -3, 3]]
    assert corners == [0, 0, 0, 0]
    assert out[48, 48, 3] == 255


def test_key_is_read_from_the_border_even_when_the_subject_is_large():
    src = _sticker(MAGENTA, (250, 250, 250))
    assert detect_key(np.asarray(src)) == MAGENTA
    grey = Image.new("RGB", (40, 40), (120, 120, 120))
    assert detect_key(np.asarray(grey)) == (120, 120, 120)  # neither: the border's median


def test_unreadable_input_is_an_error():
    with pytest.raises(TransparencyError):
        key_out(b"not an image")


def test_prompt_instruction_names_both_key_colours():
    text = transparent_prompt("  a red fox sticker ")
    assert text.startswith("a red fox sticker\n\n")
    assert text.endswith(PROMPT_INSTRUCTION)
    assert "#00FF00" in PROMPT_INSTRUCTION and "#FF00FF" in PROMPT_INSTRUCTION
