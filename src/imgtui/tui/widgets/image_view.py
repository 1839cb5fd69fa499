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
    """Holds a textual-image widget sized `auto` so it fits the box, aspect kept."""

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
        self._holder = Static(placeholder, classes="placeholder")
        self._image_widget: Widget = imaging.image_widget_class(kind)(None, classes="picture")
        self._image_widget.display = False
        self._shown_placeholder = placeholder
        self.player = FramePlayer(self, self._paint)
        if hasattr(self._image_widget, "frame_renders"):  # renderers that cache frames
            self._image_widget.frame_renders = self.player.renders
            self.player.renders.on_clear = self._image_widget.refresh  # drawn anew

    def compose(self) -> ComposeResult:
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

    def cells(self) -> tuple[int, int]:
        """The box in cells (falls back to the CSS size before the first layout)."""
        w, h = self.size
        if w and h:
            return w, h
        sw, sh = self.styles.width, self.styles.height
        return (int(sw.value) if sw and sw.is_cells else 24), (
            int(sh.value) if sh and sh.is_cells else 8
        )
