"""images: decode + shrink to a cell box (called off the UI thread), header-only sizes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imgtui import images as imaging


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    "size, box, expected",
    [
        ((1536, 1024), (48, 32), (48, 32)),
        ((1024, 1536), (48, 32), (21, 32)),
        ((1024, 1024), (100, 30), (30, 30)),
        ((20, 10), (48, 32), (20, 10)),  # never enlarged
    ],
)
def test_shrink_fits_the_box_and_keeps_the_aspect(size, box, expected):
    picture = imaging.thumbnail(encode(Image.new("RGB", size, (200, 40, 10))), box)
    assert picture is not None and picture.mode == "RGB"
    assert picture.size == expected
    assert picture.getpixel((0, 0)) == (200, 40, 10)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_parts_land_on_the_backdrop(mode):
    img = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    img.paste((255, 255, 255, 255), (200, 0, 400, 400))  # right half opaque white
    if mode == "LA":
        img = img.convert("LA")
    elif mode == "P":
        img = img.convert("P")
        img.info["transparency"] = img.getpixel((0, 0))
    picture = imaging.thumbnail(encode(img), (40, 40))
    assert picture is not None and picture.mode == "RGB" and picture.size == (40, 40)
    assert picture.getpixel((2, 20)) == imaging.BACKDROP
    assert picture.getpixel((37, 20)) == (255, 255, 255)


def test_jpeg_and_files(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(Image.new("RGB", (2048, 1024), (0, 128, 255)), "JPEG"))
    picture = imaging.thumbnail(path, (64, 64))
    assert picture is not None and picture.size == (64, 32)
    r, g, b = picture.getpixel((10, 10))
    assert r < 10 and abs(g - 128) < 10 and b > 245
    assert imaging.image_size(path) == (2048, 1024)


def test_the_source_is_left_alone():
    img = Image.new("RGB", (300, 200), (1, 2, 3))
    small = imaging.shrink(img, (30, 20))
    assert img.size == (300, 200) and small is not img
    assert imaging.shrink(img, (600, 400)) is not img  # no reduction needed: still a copy


@pytest.mark.parametrize("data", [b"", b"not an image", encode(Image.new("RGB", (8, 8)))[:40]])
def test_broken_data_gives_none(data):
    assert imaging.thumbnail(data, (10, 10)) is None
    assert imaging.image_size(b"nope") is None


def test_transparency_shows_on_a_checkerboard_when_asked():
    import io as _io

    from PIL import Image as _Image

    from imgtui import images as _images

    buf = _io.BytesIO()
    _Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(buf, "PNG")
    plain = _images.thumbnail(buf.getvalue(), (64, 64))
    board = _images.thumbnail(buf.getvalue(), (64, 64), checker=8)
    assert plain.getpixel((0, 0)) == _images.BACKDROP
    assert board.getpixel((0, 0)) == _images.CHECKER_COLOURS[0]
    assert board.getpixel((8, 0)) == _images.CHECKER_COLOURS[1]
    assert board.getpixel((8, 8)) == _images.CHECKER_COLOURS[0]
    assert board.size == (64, 64)


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    import os

    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two same-size RGB pictures, in levels (0-255)."""
    assert a.size == b.size
    pairs = zip(a.tobytes(), b.tobytes(), strict=True)
    return sum(abs(x - y) for x, y in pairs) / (a.width * a.height * 3)


def test_one_decode_gives_each_box_what_a_decode_at_that_box_gives():
    """`pictures`: the card's and the preview pane's pictures of one frame from one decode:
    the largest box the same pixels as a decode at that box alone (`picture`), the smaller
    one the same size and within a level or two (its last step starts from the largest
    box's reduced pixels, `shrink_all`)."""
    card, pane = ((48, 32), None), ((240, 160), 10)
    png = encode(noise((1536, 1024), "RGBA"))
    made = imaging.pictures(png, [card, pane])
    alone = [imaging.picture(png, *card), imaging.picture(png, *pane)]
    assert made[1].tobytes() == alone[1].tobytes()
    assert mean_difference(made[0], alone[0]) < 2

    frames = [noise((300, 200)).convert("P") for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    small, large = imaging.pictures(buf.getvalue(), [card, pane])
    assert isinstance(small, imaging.Frames) and isinstance(large, imaging.Frames)
    gif_alone = imaging.picture(buf.getvalue(), *pane)
    assert [p.tobytes() for p in large.pictures] == [p.tobytes() for p in gif_alone.pictures]
    assert [p.size for p in small.pictures] == [(48, 32)] * 3  # 300x200 in the card's box
    assert small.durations_ms == large.durations_ms == (80, 80, 80)

    # JPEG: decoded once, at the scale the largest box allows
    jpeg = encode(noise((1600, 1200)), "JPEG")
    small_jpeg, large_jpeg = imaging.pictures(jpeg, [((40, 30), None), ((400, 300), None)])
    assert large_jpeg.tobytes() == imaging.picture(jpeg, (400, 300)).tobytes()
    assert small_jpeg.size == (40, 30)
    assert imaging.pictures(b"not an image", [card, pane]) == [None, None]


def test_the_boxes_of_one_frame_share_one_pass_over_its_full_size_pixels(monkeypatch):
    """`shrink_all` reduces the full-size picture once, to the largest box; each box's own
    last step starts from there (a full-size pass is ~1 ms at 1.5K, ~5 ms at 4K)."""
    real_reduce = Image.Image.reduce
    reduced: list[tuple[int, int]] = []  # the sizes reduce() was asked to shrink

    def counting_reduce(self, factor, box=None):
        reduced.append(self.size)
        return real_reduce(self, factor, box)

    monkeypatch.setattr(Image.Image, "reduce", counting_reduce)
    source = noise((1536, 1024))
    card, pane = imaging.shrink_all(source, [((44, 14), None), ((152, 88), None)])
    assert card.size == (21, 14) and pane.size == (132, 88)
    assert reduced.count((1536, 1024)) == 1
