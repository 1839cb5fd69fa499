"""Pictures on the terminal: which renderer, how many pixels a cell shows, the widget class.

Decoding and shrinking live in `imgtui.images` (plain Pillow, no Textual); the names
`open_image`, `shrink`, `thumbnail` and `image_size` are re-exported here for callers
that still import them from this module.

textual-image is imported lazily (`image_widget_class`), because importing it probes the
terminal; `run_app` calls `prepare_renderer` before Textual owns stdin.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from PIL import Image as PILImage

from imgtui.images import image_size, open_image, shrink, thumbnail

if TYPE_CHECKING:
    pass

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
#: worst (tracemalloc, Textual 8.2, Rich 15: random noise, every cell its own colours,
#: 610-640; a smooth picture 60-110): its strips, a Segment and Styles per cell, and what
#: Textual derives from them while drawing. `FrameRenders` budgets with it.
HALFCELL_BYTES_PER_CELL = 640


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


_WIDGET_CLASSES: dict[str, type] = {}


def image_widget_class(kind: str) -> type[Any]:
    """The textual-image widget class for a concrete renderer kind.

    A subclass whose `image` setter skips the full-screen layout pass when the new picture
    has the same pixel size as the one shown (every partial frame of a task does): the
    widget's size cannot change then, so a repaint of the widget is enough.
    """
    cls = _WIDGET_CLASSES.get(kind)
    if cls is not None:
        return cls
    from textual_image import widget as tw

    base = {
        "halfcell": tw.HalfcellImage,
        "unicode": tw.UnicodeImage,
        "sixel": tw.SixelImage,
        "tgp": tw.TGPImage,
    }.get(kind, tw.HalfcellImage)
    if kind == "sixel":  # a different widget inside: imgtui's fixed one (see `terminal`)
        from imgtui.tui.terminal import sixel_widget_class

        sixel: type[Any] = sixel_widget_class()
        _WIDGET_CLASSES[kind] = sixel
        return sixel
    base_setter = base.image.fset  # type: ignore[attr-defined]

    def set_image(self, value) -> None:
        same_size = (
            isinstance(value, PILImage.Image)
            and getattr(self, "_image_width", None) == value.width
            and getattr(self, "_image_height", None) == value.height
            and isinstance(getattr(self, "_image", None), PILImage.Image)
        )
        if not same_size:
            base_setter(self, value)
            return
        renderable = getattr(self, "_renderable", None)
        if renderable is not None:
            renderable.cleanup()
            self._renderable = None
        self._image = value
        self.refresh()

    base_render_lines = base.render_lines

    def render_lines(self, crop):
        """Lines of a playing animation's frame come from its `FrameRenders` once the
        frame has been rendered at this size, crop and colours (`frame_renders`, set by
        the view). Half cells and unicode only: a TGP frame is its picture in the
        terminal (`render` below)."""
        renders = self.frame_renders
        picture = self.image
        if renders is None or not renders.enabled or not isinstance(picture, PILImage.Image):
            return base_render_lines(self, crop)
        key = (kind, crop, self.size, self.background_colors, tuple(self.get_line_filters()))
        strips = renders.get(picture, key)
        if strips is None:
            strips = base_render_lines(self, crop)
            renders.put(picture, key, strips, crop.area * HALFCELL_BYTES_PER_CELL)
        return strips

    base_render = base.render
    from textual_image.renderable.tgp import Image as tgp_renderable

    def render(self):
        """TGP: a playing animation's frame is sent to the terminal once and then only
        placed: its renderable (`textual_image.renderable.tgp.Image`, which transmits its
        picture at its first render and only writes placeholders after that) is kept in
        `frame_renders` per frame and size, and cleaned up (the picture deleted in the
        terminal) when the renders are dropped. The widget is sized `auto` (ImageView's
        CSS), so the renderable is made with width and height `auto`, as the base does."""
        renders = self.frame_renders
        picture = self.image
        if renders is None or not renders.enabled or not isinstance(picture, PILImage.Image):
            return base_render(self)
        key = (kind, self.size)
        placed = renders.get(picture, key)
        if placed is None:
            placed = tgp_renderable(picture, "auto", "auto")  # (sends at its first render)
            if not renders.put(picture, key, placed, 4 * picture.width * picture.height):
                return base_render(self)  # over the budget: the widget's own, cleaned up
        return placed

    image = property(base.image.fget, set_image)  # type: ignore[attr-defined]
    members: dict[str, Any] = {"image": image}
    if kind in ("halfcell", "unicode"):
        members.update(render_lines=render_lines, frame_renders=None)
    elif kind == "tgp":
        members.update(render=render, frame_renders=None)
    cls = type(f"Fast{base.__name__}", (base,), members, Renderable=base._Renderable)
    cls.__module__ = __name__
    _WIDGET_CLASSES[kind] = cls
    return cls


def cell_pixels(kind: str) -> tuple[int, int]:
    """How many source pixels one cell can show, per renderer."""
    if kind == "halfcell":
        return 1, 2
    if kind == "unicode":
        return 2, 4
    from textual_image._terminal import get_cell_size

    size = get_cell_size()
    return max(1, size.width), max(1, size.height)


def box_pixels(kind: str, cols: int, rows: int) -> tuple[int, int]:
    """The pixel box a `cols` x `rows` cell area can show."""
    cw, ch = cell_pixels(kind)
    return max(1, cols * cw), max(1, rows * ch)
