"""`images.picture`: an animated image becomes `Frames` (every frame shrunk, durations and
loop count from the file), a still stays a picture."""

from __future__ import annotations

import io

from PIL import Image

from imgtui import images
from imgtui.images import Frames


def gif(durations: list[int], loop: int | None = 0) -> bytes:
    pictures = [
        Image.new("RGB", (64, 32), (40 * i, 10, 200 - 40 * i)) for i in range(len(durations))
    ]
    out = io.BytesIO()
    extra = {} if loop is None else {"loop": loop}
    pictures[0].save(
        out, "GIF", save_all=True, append_images=pictures[1:], duration=durations, **extra
    )
    return out.getvalue()


def test_gif_frames_are_shrunk_with_their_durations():
    frames = images.picture(gif([100, 250, 40]), (16, 16))
    assert isinstance(frames, Frames)
    assert len(frames) == 3
    assert frames.durations_ms == (100, 250, 40)
    assert frames.loops == 0  # NETSCAPE loop 0: for ever
    assert [p.size for p in frames.pictures] == [(16, 8)] * 3
    assert [p.mode for p in frames.pictures] == ["RGB"] * 3
    assert frames.pictures[0].getpixel((8, 4)) != frames.pictures[2].getpixel((8, 4))


def test_too_short_durations_are_shown_as_browsers_show_them():
    frames = images.picture(gif([0, 10, 20]), (16, 16))
    assert isinstance(frames, Frames)
    assert frames.durations_ms == (images.SHORT_FRAME_MS, images.SHORT_FRAME_MS, 20)


def test_loop_counts():
    once = images.picture(gif([100, 100], loop=None), (16, 16))
    twice = images.picture(gif([100, 100], loop=1), (16, 16))
    assert isinstance(once, Frames) and isinstance(twice, Frames)
    assert once.loops == 1
    assert twice.loops == 2


def test_a_still_gif_or_png_is_a_picture_not_frames():
    one = images.picture(gif([100]), (16, 16))
    assert isinstance(one, Image.Image)
    assert one.size == (16, 8)
    png = io.BytesIO()
    Image.new("RGB", (64, 32)).save(png, "PNG")
    assert isinstance(images.picture(png.getvalue(), (16, 16)), Image.Image)
    assert images.picture(b"not an image", (16, 16)) is None
    assert not images.is_animated(png.getvalue())
    assert images.is_animated(gif([100, 100]))
