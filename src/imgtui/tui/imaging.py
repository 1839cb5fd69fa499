"""Pictures on the terminal: which renderer, how many pixels a cell shows, the widget class.

Decoding and shrinking live in `imgtui.images` (plain Pillow, no Textual); the names
`open_image`, `shrink`, `thumbnail` and `image_size` are re-exported here for callers
that still import them from this module.

textual-image is imported lazily (`image_widget_class`), because importing it probes the
terminal; `run_app` calls `prepare_renderer` before Textual owns stdin.
"""

from __future__ import annotations

import os
from typing import Any

from imgtui.images import image_size, open_image, shrink, thumbnail

__all__ = [
    "RENDERERS",
    "box_pixels",
    "cell_pixels",
    "image_size",
    "image_widget_class",
    "open_image",
    "prepare_renderer",
    "renderer_name",
    "shrink",
    "thumbnail",
]

RENDERERS = ("auto", "halfcell", "unicode", "sixel", "tgp")
#: What one cached render of a half-cell (or unicode) picture holds per cell, in bytes, at
#: worst: Textual's styled strips of the frame as `FrameRenders` keeps them (a Strip per
#: line, a Segment and a Style per cell). Measured with tracemalloc (Textual 8.2, Rich 15,
#: `imgtui.tui.halfcell`, a 160 x 47 widget): 252 for random noise, 87 for a smooth
#: picture, once the widget's own caches let go of the frame; the colours themselves sit
#: in `halfcell`'s bounded colour cache, not here. (Through textual-image's Rich path it
#: was 610-640.) `FrameRenders` budgets with it.
HALFCELL_BYTES_PER_CELL = 256


def renderer_name(configured: str | None = None) -> str:
    """The renderer to use: env IMGTUI_RENDERER wins over settings; unknown values mean auto."""
    name = (os.environ.get("IMGTUI_RENDERER") or configured or "auto").strip().lower()
    return name if name in RENDERERS else "auto"


def prepare_renderer(name: str) -> str:
    """Import textual-image (which probes the terminal) and resolve `auto` to a concrete kind.

    Call before `App.run()`. Returns the concrete renderer: halfcell, unicode, sixel or tgp.
    """
    from textual_image import (
        renderable,  # noqa: F401  (probes the terminal once)
        widget,  # noqa: F401  (caches the cell size)
    )

    if name != "auto":
        return name
    from textual_image.renderable import Image as Auto
    from textual_image.renderable.halfcell import Image as Halfcell
    from textual_image.renderable.sixel import Image as Sixel
    from textual_image.renderable.tgp import Image as TGP

    return {Halfcell: "halfcell", Sixel: "sixel", TGP: "tgp"}.get(Auto, "unicode")


def image_widget_class(kind: str) -> type[Any]:
    """The textual-image widget class for a concrete renderer kind (`terminal.image_widget_class`:
    its subclasses that skip needless layouts and replay a playing animation's renders)."""
    from imgtui.tui.terminal import image_widget_class as widget_class

    return widget_class(kind)


def cell_pixels(kind: str) -> tuple[int, int]:
    """How many source pixels one cell can show, per renderer."""
    if kind == "halfcell":
        return 1, 2
    if kind == "unicode":
        return 2, 4
    from imgtui.tui.terminal import cell_size

    width, height = cell_size()
    return max(1, width), max(1, height)


def box_pixels(kind: str, cols: int, rows: int) -> tuple[int, int]:
    """The pixel box a `cols` x `rows` cell area can show."""
    cw, ch = cell_pixels(kind)
    return max(1, cols * cw), max(1, rows * ch)
