"""SVG results are drawn for the screen by resvg; the .svg itself is kept as received."""

from __future__ import annotations

import pytest

from imgtui.images import open_image, rasterise_svg, thumbnail, thumbnail_file

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">'
    b'<rect width="100" height="100" fill="#ff0000"/><rect x="100" width="100" height="100" '
    b'fill="#0000ff"/></svg>'
)


def test_an_svg_is_rasterised_at_its_size():
    with open_image(SVG) as img:
        assert img.size == (200, 100)
        rgb = img.convert("RGB")
        assert rgb.getpixel((50, 50)) == (255, 0, 0)
        assert rgb.getpixel((150, 50)) == (0, 0, 255)


def test_svg_file_thumbnail_and_the_file_untouched(tmp_path):
    path = tmp_path / "fox.svg"
    path.write_bytes(SVG)
    small = thumbnail(path, (40, 40))
    assert small is not None
    assert small.size == (40, 20)
    thumb = thumbnail_file(path, tmp_path / "thumbs", 100, 100)
    assert thumb.suffix == ".png"
    assert path.read_bytes() == SVG


def test_a_huge_svg_is_drawn_at_most_2048_wide():
    big = SVG.replace(b'width="200" height="100"', b'width="8000" height="4000"')
    with open_image(rasterise_svg(big)) as img:
        assert img.size == (2048, 1024)


@pytest.mark.parametrize(
    "bad",
    [
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>',
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10'",
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
    ],
)
def test_bad_svgs_are_not_drawn(bad):
    assert thumbnail(bad, (40, 40)) is None
