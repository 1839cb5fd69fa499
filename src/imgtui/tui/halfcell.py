"""A picture as half cells, straight to Textual strips: the card's and the panes' renderer.

Each cell is an upper half block (`▀`) whose foreground is the upper pixel and whose
background is the lower one, so a cell shows 1 x 2 pixels. This draws exactly what
textual-image's half-cell renderable (`textual_image.renderable.halfcell.Image`) draws
through Rich and Textual (the same characters, the same colours, the same styles, cell by
cell; `tests/tui/test_halfcell.py` compares the two), but without their per-frame work on
the event loop: no second resize when the picture already has the cells' pixel size (the
picture threads shrink it to the box), no Rich render / line split / crop, a pixel read
from `tobytes()` instead of Pillow's deprecated `getdata()`, and each colour's Rich
`Color` made once (`colour`, a bounded cache). Kept in `terminal.image_widget_class`'s
half-cell widget (its `render_line`); textual-image still draws Sixel, TGP and unicode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

if TYPE_CHECKING:
    from PIL.Image import Image

#: The character of every cell: upper half block, foreground = upper pixel.
UPPER_HALF = "▀"
#: At most this many colours are kept made, ~290 bytes each (tracemalloc: the key, the
#: `Color`, its triplet and name): at most ~4.7 MB. A noise picture in the 160x48 detail
#: view has ~15,000 distinct ones; a cleared cache only costs remaking them.
COLOUR_CACHE_MAX = 16_384
_colours: dict[bytes, Color] = {}
TRUECOLOR = ColorType.TRUECOLOR


def colour(rgb: bytes) -> Color:
    """The Rich truecolour `Color` of 3 bytes R, G, B, equal to what `Color.from_triplet`
    makes (name `#rrggbb`), made once per colour while the cache holds it."""
    found = _colours.get(rgb)
    if found is None:
        if len(_colours) >= COLOUR_CACHE_MAX:
            _colours.clear()
        red, green, blue = rgb
        found = _colours[rgb] = Color(
            f"#{rgb.hex()}", TRUECOLOR, None, ColorTriplet(red, green, blue)
        )
    return found


def pixels(picture: Image, cols: int, rows: int) -> bytes:
    """RGB bytes of `picture` at `cols` x `2 * rows` pixels (3 bytes a pixel, row by row).
    A picture of another size is resized as textual-image does (`PixelData.scaled`:
    Pillow's default filter; the picture threads shrink pictures to the cells' pixels, so
    this is rare: e.g. where a cell is not twice as tall as wide)."""
    image = picture if picture.mode == "RGB" else picture.convert("RGB")
    if image.size != (cols, 2 * rows):
        image = image.resize((cols, 2 * rows))
    return image.tobytes()


def strips(picture: Image, cols: int, rows: int, width: int, base: Style) -> list[Strip]:
    """The `rows` lines of `picture` drawn in `cols` x `rows` half cells, each line cut to
    `width` cells (a widget narrower than the picture), every cell styled `base` + its two
    colours (what Textual's render of a Rich renderable gives: the widget's style under
    each segment's)."""
    if cols <= 0 or rows <= 0:
        return []
    data = pixels(picture, cols, rows)
    shown = min(cols, width)
    known = _colours.get
    cells = [known(rgb) or colour(rgb) for rgb in (data[i : i + 3] for i in range(0, len(data), 3))]
    plain = base.without_color == Style() and not base.meta  # nothing to carry over
    from_color = Style.from_color
    lines = []
    for row in range(rows):
        top = 2 * row * cols
        segments = [
            Segment(
                UPPER_HALF, from_color(upper, lower) if plain else base + from_color(upper, lower)
            )
            for upper, lower in zip(
                cells[top : top + shown], cells[top + cols : top + cols + shown], strict=True
            )
        ]
        lines.append(Strip(segments, shown))
    return lines
