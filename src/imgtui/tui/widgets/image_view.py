"""A box that shows one picture (or a placeholder) through textual-image.

The picture handed in is already shrunk to the box (see `imaging`): textual-image
re-processes its source on every repaint, so a small source keeps repaints cheap.
An animation (`images.Frames`, from `images.picture`) plays through a `FramePlayer`,
only while the view can be seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from imgtui.images import Frames
from imgtui.tui import imaging
from imgtui.tui.widgets.animation import FramePlayer

if TYPE_CHECKING:
    from PIL.Image import Image


class ImageView(Widget):
    """Holds a textual-image widget that shows the picture centred in the box, aspect kept.

    With a renderer whose widget can fill its box (`fills_box`: half cells), the widget
    is the box's size from its first layout and draws the picture centred in it, or the
    placeholder text: a first frame, a new frame of another size or the placeholder
    coming back repaints the widget and lays nothing out (issue 16: each card's first
    frame cost two layout passes of the whole screen, 10-13 ms and 2-7 ms at load 1-2,
    50-130 ms under load, `benchmarks/loop_lag.py`). Other renderers size the widget
    `auto` (its size is known only once the picture is) and show a placeholder `Static`
    in its place until then.
    """

    DEFAULT_CSS = """
    ImageView {
        align: center middle;
        & > .placeholder {
            width: 100%;
            height: 100%;
            content-align: center middle;
            color: $text-muted;
            text-style: italic;
        }
        & > .picture {
            width: auto;
            height: auto;
        }
        & > .picture.-fill {
            width: 100%;
            height: 100%;
            content-align: center middle;
        }
        & > .picture.-fill.-placeholder {
            color: $text-muted;
            text-style: italic;
        }
    }
    """

    def __init__(
        self, kind: str, placeholder: str = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.kind = kind
        self._placeholder_text = placeholder
        self._picture: Image | None = None
        # Made here, not in compose: `show` works before the view is composed and after
        # it is removed (the app updates cards as events arrive, whatever their state).
        widget_class = imaging.image_widget_class(kind)
        self._fill = bool(getattr(widget_class, "fills_box", False))
        widget = widget_class(
            None, classes="picture -fill -placeholder" if self._fill else "picture"
        )
        if self._fill:
            widget.fill = True
            widget.placeholder = placeholder
        else:
            widget.display = False
        self._image_widget: Widget = widget
        self._holder = Static(placeholder, classes="placeholder")  # (not mounted when filled)
        self._shown_placeholder = placeholder
        self.player = FramePlayer(self, self._paint)
        if hasattr(self._image_widget, "frame_renders"):  # renderers that cache frames
            self._image_widget.frame_renders = self.player.renders
            self.player.renders.on_clear = self._image_widget.refresh  # drawn anew

    def compose(self) -> ComposeResult:
        if not self._fill:
            yield self._holder
        yield self._image_widget

    def on_mount(self) -> None:
        self.player.wake()  # a view mounted again plays on (no-op without an animation)

    def on_unmount(self) -> None:
        self.player.detach()

    @property
    def picture(self) -> Image | None:
        """The picture on screen (an animation's current frame)."""
        return self._picture

    @property
    def placeholder(self) -> str:
        """The text shown in the box while there is no picture (as last painted)."""
        return self._shown_placeholder

    def show(self, picture: Image | Frames | None, placeholder: str | None = None) -> None:
        """Show `picture`, play it when it is `Frames`, or the placeholder text when None."""
        if placeholder is not None:
            self._placeholder_text = placeholder
        if isinstance(picture, Frames):
            if picture is not self.player.frames:
                self.player.play(picture)  # paints the first frame
            return
        self.player.stop()
        self._paint(picture)

    def _paint(self, picture: Image | None) -> None:
        self._picture = picture
        holder = self._holder
        image = self._image_widget
        if self._fill:
            self._paint_filled(picture)
            return
        if picture is None:
            if image.display:
                image.display = False
                image.image = None  # type: ignore[attr-defined]
            if self._shown_placeholder != self._placeholder_text:
                self._shown_placeholder = self._placeholder_text
                holder.update(self._placeholder_text, layout=False)  # fills the box: no layout
            holder.display = True
            return
        if holder.display:
            holder.display = False
        image.image = picture  # type: ignore[attr-defined]
        if not image.display:
            image.display = True

    def _paint_filled(self, picture: Image | None) -> None:
        """The widget fills the box: the picture or the placeholder, with a repaint only."""
        image = self._image_widget
        if picture is None:
            if self._shown_placeholder != self._placeholder_text or image.image is not None:  # type: ignore[attr-defined]
                self._shown_placeholder = self._placeholder_text
                image.placeholder = self._placeholder_text  # type: ignore[attr-defined]
                image.image = None  # type: ignore[attr-defined]
            image.set_class(True, "-placeholder")
            return
        image.set_class(False, "-placeholder")
        image.image = picture  # type: ignore[attr-defined]

    def cells(self) -> tuple[int, int]:
        """The box in cells (falls back to the CSS size before the first layout)."""
        w, h = self.size
        if w and h:
            return w, h
        sw, sh = self.styles.width, self.styles.height
        return (int(sw.value) if sw and sw.is_cells else 24), (
            int(sh.value) if sh and sh.is_cells else 8
        )
