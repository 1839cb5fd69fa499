"""The preview pane: the selected task's images, as large as the pane allows (issue 14.1).

One `SlotView` per requested image (n > 1: a grid of them), each showing that slot's final
image or, while it runs, its newest partial frame, with a caption saying which image it is
and what state it is in. Pictures are decoded and shrunk to each view's box on the
picture threads (`pictures`), so they size themselves to the space they get: a resize or a
new frame asks for a new decode, and a result that is no longer wanted is dropped.

A running task's partial frames are decoded once for its card and this pane: the pane
gives the task's `service.FrameDecoder` its box (`also`), the picture thread shrinks each
frame to both boxes, and the pane takes its picture from the decoder when the frame's
index and the box match (else it decodes the frame itself, as for a final image).

The pane only reads its `Task`; the gallery tells it which task is selected (`show`) and
the app tells it when that task changed (`task_changed`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from imgtui import images
from imgtui.api.events import Partial, Progress, Started
from imgtui.tasks import SlotStatus, Status, Task
from imgtui.tui import imaging
from imgtui.tui.widgets.image_view import ImageView
from imgtui.tui.widgets.task_card import one_line, params_summary, status_line

if TYPE_CHECKING:
    from imgtui.service import FrameDecoder

EMPTY_TEXT = "The selected task's images show here."


def slot_caption(task: Task, index: int) -> Content:
    """`image 2 of 4 · preview, frame 2 of 3`, `image 3 of 4 · failed: …`: which image,
    and its state (the words of the card and the detail view)."""
    slot = task.slots[index] if 0 <= index < len(task.slots) else None
    parts: list = []
    if task.n > 1:
        parts.append((f"image {index + 1} of {task.n}", "bold"))
    if slot is None:
        return Content.assemble(*parts)
    source, unfinished = slot.picture()
    state: tuple[str, str] | None = None
    if slot.status is SlotStatus.FAILED:
        message = slot.error.message if slot.error else "failed"
        state = (f"failed: {one_line(message, 120)}", "$error")
    elif slot.status is SlotStatus.CANCELLED:
        state = ("cancelled", "$foreground-muted")
    elif source is not None and unfinished and slot.partial_index is not None:
        label = "preview" if task.status is Status.RUNNING else "unfinished preview"
        of = (
            f", frame {slot.partial_index + 1} of {task.partial_images}"
            if task.partial_images
            else ""
        )
        state = (f"{label}{of}", "italic $warning")
    elif slot.status is SlotStatus.RUNNING and task.status is Status.RUNNING:
        state = ("waiting for the first frame…", "italic $foreground-muted")
    elif slot.status is SlotStatus.DONE and task.params.output_format == "gif":
        state = ("animated: plays here, in its card and in the detail view", "$foreground-muted")
    if state is not None:
        if parts:
            parts.append(("  ·  ", "$foreground-muted"))
        parts.append(state)
    return Content.assemble(*parts)


def set_text(widget: Static, content: Content, *, layout: bool = False) -> bool:
    """Show `content` in `widget` unless it shows it already (the same text and styles);
    whether it changed. `layout=False` (a line of fixed height): only the widget repaints.
    `layout=True` (a widget of `auto` height): the screen is laid out again only when the
    new text takes another number of lines than the widget has (`same_height`).
    A frame arrives with the same prompt and nearly the same lines, and a layout pass of
    the whole screen before the new picture is painted costs more than decoding it
    (`benchmarks/preview_latency.py`, "to the screen's next update"); a new task's prompt
    came with one at every selection (issue 16, `benchmarks/loop_lag.py`)."""
    shown = widget.content
    if isinstance(shown, Content) and (shown.plain, shown.spans) == (content.plain, content.spans):
        return False
    widget.update(content, layout=layout and not same_height(widget, content))
    return True


def same_height(widget: Static, content: Content) -> bool:
    """`content` wraps to as many lines in `widget` (width as laid out now, `max-height`
    in cells applied) as the widget has: showing it needs no layout pass. False before
    the widget's first layout."""
    width, height = widget.content_size
    if not (width and height):
        return False
    lines = len(content.wrap(width))
    limit = widget.styles.max_height
    if limit is not None and limit.is_cells:
        lines = min(lines, int(limit.value))
    return lines == height


def frame_key(partial_index: int | None, source: object, unfinished: bool) -> object:
    """Which picture of a slot `source` is, for asking for it once: a partial frame by its
    index (every frame of an image is written to the same file, and its bytes give way to
    that file once written: neither tells two frames apart, nor the same frame apart), a
    final image by its bytes' identity or its file."""
    if unfinished and source is not None:
        return ("frame", partial_index)
    return id(source) if isinstance(source, bytes) else source


def checker_square(box: tuple[int, int]) -> int:
    """Pixels per square of the checkerboard transparency shows on in a `box` picture."""
    return max(2, box[0] // 24)


class SlotView(Vertical):
    """One image of the task: the picture box and its caption."""

    DEFAULT_CSS = """
    SlotView {
        width: 1fr;
        height: 1fr;
        & > ImageView { width: 1fr; height: 1fr; background: $background; }
        & > .caption { width: 1fr; height: 1; padding: 0 1; color: $text-muted; }
    }
    """

    def __init__(self, kind: str, index: int) -> None:
        super().__init__(classes=f"slot-{index}")
        self.index = index
        self.view = ImageView(kind, "")
        self.caption = Static("", classes="caption")
        # (`frame_key`, box, placeholder text or None) of the picture (or text) asked for
        self.wanted: tuple | None = None

    def compose(self) -> ComposeResult:
        yield self.view
        yield self.caption


class PreviewPane(Widget):
    """The selected task, large: every slot's picture, the prompt, the state."""

    DEFAULT_CSS = """
    PreviewPane {
        layout: vertical;
        background: $surface;
        padding: 0 1;
        & > #preview-prompt { height: auto; max-height: 2; color: $text; text-style: bold; }
        & > #preview-state { height: 1; }
        & > #preview-slots { height: 1fr; layout: grid; grid-gutter: 0 1; }
        & > #preview-empty {
            height: 1fr; content-align: center middle; color: $text-muted; text-style: italic;
        }
    }
    """

    def __init__(
        self,
        kind: str,
        pictures: Executor | None,
        clock: Callable[[], float],
        *,
        decoders: Mapping[str, FrameDecoder] | None = None,
        id: str | None = None,
    ) -> None:
        """`pictures`: the picture threads; `decoders`: the running tasks' frame decoders
        by task id (the service's), which shrink frames to this pane's box too."""
        super().__init__(id=id)
        self.kind = kind
        self.pictures = pictures
        self.clock = clock
        self.decoders: Mapping[str, FrameDecoder] = decoders if decoders is not None else {}
        self.imgtask: Task | None = None
        self._prompt = Static("", id="preview-prompt", markup=False)
        self._state = Static("", id="preview-state")
        self._slots = Container(id="preview-slots")
        self._empty = Static(EMPTY_TEXT, id="preview-empty")
        self._views: list[SlotView] = []
        self._frame_pending = False  # a frame's lines and picture wait for a screen update

    def compose(self) -> ComposeResult:
        yield self._prompt
        yield self._state
        yield self._slots
        yield self._empty

    def on_mount(self) -> None:
        self._show_empty(self.imgtask is None)
        self.set_interval(1.0, self._tick)

    @property
    def views(self) -> list[SlotView]:
        return list(self._views)

    def _show_empty(self, empty: bool) -> None:
        self._empty.display = empty
        for widget in (self._prompt, self._state, self._slots):
            widget.display = not empty

    # -- what is shown ---------------------------------------------------------------------

    async def show(self, task: Task | None) -> None:
        """Show `task` (None: nothing selected)."""
        same = task is self.imgtask
        if not same:
            self._ask_decoder(None)  # the task shown before: its frames for its card alone
        self.imgtask = task
        if not self.is_mounted:
            return
        self._show_empty(task is None)
        if task is None:
            return
        n = max(1, task.n)
        if len(self._views) != n:
            await self._slots.remove_children()
            self._views = [SlotView(self.kind, i) for i in range(n)]
            cols = self._columns(n)
            self._slots.styles.grid_size_columns = cols
            self._slots.styles.grid_size_rows = math.ceil(n / cols)
            await self._slots.mount_all(self._views)
        elif not same:
            for view in self._views:
                view.wanted = None
        self._refresh_text()
        self.call_after_refresh(self.load_pictures)

    def _columns(self, n: int) -> int:
        """Slots per row: a grid as square as the pane's shape allows (cells are ~1:2)."""
        if n <= 1:
            return 1
        width, height = self.size
        wide = width >= 2 * 2 * max(1, height)  # a wide pane: one row of 2 (or 3)
        if n <= 3 and wide:
            return n
        return math.ceil(math.sqrt(n))

    def task_changed(self, task: Task, event: object = None) -> None:
        """The app applied a change to `task`: repaint if it is the one shown."""
        if task is not self.imgtask or not self.is_mounted:
            return
        if isinstance(event, Started):
            self._refresh_state()
            # its decoder exists now (frames for this pane too), and "queued" gives way
            # to "waiting for the first frame…"
            self.load_pictures()
            return
        if isinstance(event, Progress):
            return
        if not isinstance(event, Partial):
            self._refresh_text()
            self.load_pictures()
        elif not self._frame_pending:
            # A partial frame: its card's picture (decoded on a picture thread already) is
            # painted first. This pane's lines and its own decode of the frame, done at
            # once, were in the same screen update and competed with that paint for the
            # cores and the GIL: the card showed the frame a third later
            # (`benchmarks/preview_latency.py`). A final image (once per image, and what
            # the task's end shows) is shown at once, as before.
            self._frame_pending = True
            self.call_after_refresh(self._show_frame)

    def _show_frame(self) -> None:
        """The newest frame's lines and picture (once per screen update, however many
        frames came meanwhile)."""
        self._frame_pending = False
        if self.imgtask is not None and self.is_mounted:
            self._refresh_text()
            self.load_pictures()

    def _tick(self) -> None:
        if self.imgtask is not None and self.imgtask.status is Status.RUNNING:
            self._refresh_state()

    def _refresh_text(self) -> None:
        task = self.imgtask
        if task is None:
            return
        set_text(self._prompt, Content(one_line(task.prompt, 300)), layout=True)
        self._refresh_state()
        for view in self._views:
            set_text(view.caption, slot_caption(task, view.index))

    def _refresh_state(self) -> None:
        task = self.imgtask
        if task is None:
            return
        set_text(
            self._state,
            Content.assemble(
                status_line(task, self.clock()),
                ("  ·  ", "$foreground-muted"),
                (params_summary(task), "$foreground-muted"),
            ),
        )

    def on_resize(self, event: events.Resize) -> None:
        task = self.imgtask
        if task is not None and task.n > 1:
            cols = self._columns(task.n)
            self._slots.styles.grid_size_columns = cols
            self._slots.styles.grid_size_rows = math.ceil(task.n / cols)
        self.call_after_refresh(self.load_pictures)

    # -- pictures ------------------------------------------------------------------------

    def _box(self) -> tuple[int, int] | None:
        """The pixel box of the slot views' pictures (None before a layout gave a size)."""
        for view in self._views:
            w, h = view.view.size
            if w and h:
                return imaging.box_pixels(self.kind, w, h)
        return None

    def _ask_decoder(self, box: tuple[int, int] | None) -> None:
        """Have the shown task's frame decoder shrink frames to `box` too (None: stop)."""
        task = self.imgtask
        decoder = self.decoders.get(task.id) if task is not None else None
        if decoder is not None:
            decoder.also = None if box is None else (box, checker_square(box))

    def load_pictures(self) -> None:
        """Ask for each slot's newest picture at its view's size (if not asked already)."""
        task = self.imgtask
        if task is None:
            return
        decoder = self.decoders.get(task.id)
        self._ask_decoder(self._box())
        for view in self._views:
            if view.index >= len(task.slots):
                view.view.show(None, self._placeholder(task, view.index))
                continue
            slot = task.slots[view.index]
            source, unfinished = slot.picture()
            w, h = view.view.size
            if not (w and h):
                continue
            box = imaging.box_pixels(self.kind, w, h)
            # without a picture the placeholder says the task's state, which moves on
            text = self._placeholder(task, view.index) if source is None else None
            key = (frame_key(slot.partial_index, source, unfinished), box, text)
            if key == view.wanted:
                continue
            view.wanted = key
            if text is not None:
                view.view.show(None, text)
                continue
            if unfinished and decoder is not None:  # made with its card's, in one decode
                made = decoder.made_also(view.index, slot.partial_index, box)
                if made is not None:
                    view.view.show(made, "cannot read this image")
                    continue
            # a coroutine function, not a coroutine: one replaced before it starts never runs
            # (mypy infers Never from the union of Textual's WorkType, hence the ignore)
            self.run_worker(
                self._decoder(view, task, source, box, key),  # type: ignore[arg-type]
                group=f"preview-{view.index}",
                exclusive=True,
                exit_on_error=False,
            )

    def _placeholder(self, task: Task, index: int) -> str:
        """What a slot without a picture says: its task's state (a slot that does not
        exist yet: the task's)."""
        slot = task.slots[index] if index < len(task.slots) else None
        if slot is not None and slot.status is SlotStatus.FAILED:
            return "no image"
        if task.status is Status.QUEUED:
            return "queued"
        if task.status is Status.RUNNING:
            return "waiting for the first frame…"
        return "no image"

    def _decoder(
        self, view: SlotView, task: Task, source: bytes | Path, box: tuple[int, int], key: tuple
    ) -> Callable[[], Coroutine[None, None, None]]:
        async def decode() -> None:
            await self._decode(view, task, source, box, key)

        return decode

    async def _decode(
        self, view: SlotView, task: Task, source: bytes | Path, box: tuple[int, int], key: tuple
    ) -> None:
        loop = asyncio.get_running_loop()
        checker = checker_square(box)  # transparency shows on a checkerboard

        def decode() -> Any:  # on a picture thread: skipped when no longer wanted by then
            if view.wanted != key:  # (the selection moved on while this waited its turn)
                return None
            return images.picture(source, box, checker)

        picture = await loop.run_in_executor(self.pictures, decode)
        if view.wanted != key or task is not self.imgtask:
            return  # a newer frame, another size or another task was asked for meanwhile
        view.view.show(picture, "cannot read this image")  # `Frames`: plays while seen
