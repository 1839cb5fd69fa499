"""An SVG result is hostile markup (issue 10, noticed in session 3): rasterising it for the
screen must never read a file outside it. resvg resolves `<image href="/path">` against
the local disk, so without care a server could draw the user's private pictures in the
app, or hang the picture thread on `/dev/zero`."""

from __future__ import annotations

import base64
import io
import threading

import pytest
from PIL import Image

from imgtui.images import open_image, rasterise_svg, self_contained_svg

RED = (255, 0, 0, 255)


def svg_with_image(href: str, attr: str = "href") -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        f' width="16" height="16"><image {attr}="{href}" width="16" height="16"/></svg>'
    ).encode()


def centre(png: bytes) -> tuple[int, ...]:
    return Image.open(io.BytesIO(png)).convert("RGBA").getpixel((8, 8))


@pytest.fixture
def private_picture(tmp_path):
    path = tmp_path / "private.png"
    Image.new("RGB", (16, 16), RED[:3]).save(path)
    return path


@pytest.mark.parametrize("attr", ["href", "xlink:href"])
@pytest.mark.parametrize("form", ["{}", "file://{}"], ids=["path", "file-url"])
def test_a_local_file_is_never_drawn(private_picture, attr, form):
    svg = svg_with_image(form.format(private_picture), attr)
    assert centre(rasterise_svg(svg)) == (0, 0, 0, 0)
    with open_image(svg) as img:  # the app's path: bytes of a saved .svg result
        assert img.convert("RGBA").getpixel((8, 8)) == (0, 0, 0, 0)


def test_a_relative_reference_is_never_resolved(private_picture, monkeypatch):
    monkeypatch.chdir(private_picture.parent)  # resvg would resolve against the cwd
    assert centre(rasterise_svg(svg_with_image("private.png"))) == (0, 0, 0, 0)


def test_dev_zero_does_not_hang_the_picture_thread():
    done: list[bytes] = []
    worker = threading.Thread(
        target=lambda: done.append(rasterise_svg(svg_with_image("/dev/zero"))), daemon=True
    )
    worker.start()
    worker.join(60)  # a bound on a hang, not a timing: the call returns at once when safe
    assert done, "rasterising an SVG that references /dev/zero never returned"
    assert centre(done[0]) == (0, 0, 0, 0)


def test_an_embedded_raster_image_is_still_drawn():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), RED[:3]).save(buf, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    assert centre(rasterise_svg(svg_with_image(uri))) == RED


def test_an_embedded_svg_is_dropped_because_it_could_reference_files(private_picture):
    inner = base64.b64encode(svg_with_image(str(private_picture))).decode()
    svg = svg_with_image(f"data:image/svg+xml;base64,{inner}")
    assert "svg+xml" not in self_contained_svg(svg)
    assert centre(rasterise_svg(svg)) == (0, 0, 0, 0)


def test_fragments_and_drawing_survive():
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        b' width="16" height="16"><defs><rect id="r" width="16" height="16" fill="red"/>'
        b'</defs><use xlink:href="#r"/><style>@import url(/etc/passwd);</style></svg>'
    )
    out = self_contained_svg(svg)
    assert 'xlink:href="#r"' in out and "@import" not in out
    assert centre(rasterise_svg(svg)) == RED
