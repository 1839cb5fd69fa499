"""One task in the list: picture, prompt, profile and model, status, elapsed time, progress.

The card only reads its `Task`; the app changes the task (through `tasks.apply`) and then
calls `refresh_task()` / `tick()` / `set_picture()` on this one card. All the text is one
widget (`CardInfo`) that renders its lines from the task, so a card is a handful of
widgets and an update repaints one region.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from imgtui.spending import CostFn, task_cost
from imgtui.tasks import Status, Task
from imgtui.text import clean
from imgtui.tui.widgets.image_view import ImageView

if TYPE_CHECKING:
    from PIL.Image import Image

    from imgtui.images import Frames

# Size of the card picture in cells (the app shrinks pictures to this box).
THUMB_COLS, THUMB_ROWS = 22, 7
CARD_ROWS = THUMB_ROWS + 1  # a card's height in the list (picture and its label)
# A card in the grid view (`TaskCard.-grid`): the picture over two lines of text.
GRID_CARD_COLS, GRID_CARD_ROWS = THUMB_COLS + 4, THUMB_ROWS + 3

STATUS_STYLE = {
    Status.QUEUED: "dim",
    Status.RUNNING: "bold $accent",
    Status.DONE: "bold $success",
    Status.FAILED: "bold $error",
    Status.CANCELLED: "bold $foreground-muted",
    Status.INTERRUPTED: "bold $warning",
}

BAR_STYLE = {
    Status.DONE: "$success",
    Status.FAILED: "$error",
    Status.CANCELLED: "$foreground-muted",
    Status.INTERRUPTED: "$foreground-muted",
}


def format_elapsed(seconds: float, running: bool) -> str:
    """`7s` / `1m 05s` while running (whole seconds tick); `14.2s` once ended."""
    if running:
        s = int(seconds)
        return f"{s}s" if s < 60 else f"{s // 60}m {s % 60:02d}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = round(seconds)
    return f"{s // 60}m {s % 60:02d}s"


def one_line(text: str, limit: int = 400) -> str:
    """`text` on one line (runs of whitespace become one space), control characters
    removed (`imgtui.text.clean`), cut at `limit` characters."""
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def params_summary(task: Task) -> str:
    p = task.params
    parts = [
        clean(task.profile_name or "?", newlines=False),
        clean(task.model or "?", newlines=False),
    ]
    parts.extend(clean(v, newlines=False) for v in (p.size, p.quality) if v and v != "auto")
    if task.n > 1:
        parts.append(f"n={task.n}")
    if task.input_images:
        parts.append("edit" if len(task.input_images) == 1 else f"edit ×{len(task.input_images)}")
    if task.api_mode == "responses":
        parts.append("responses")
    return " · ".join(parts)


def status_line(task: Task, now: float, cost_of: CostFn = task_cost) -> Content:
    """Status word, elapsed time and cost (`cost_of`: the profile's prices, `PriceBook`)."""
    running = task.status is Status.RUNNING
    parts: list = []
    if running:
        parts.append(("● ", "$accent"))
    parts.append((task.status_word(), STATUS_STYLE[task.status]))
    if task.started_at is not None:
        parts.append(("  " + format_elapsed(task.elapsed(now), running), "dim"))
    cost = cost_of(task)
    if cost is not None:
        parts.append((f"  ${cost:.3f}", "dim"))
    return Content.assemble(*parts)


def error_text(task: Task) -> Content | None:
    message = task.error_message
    if task.status is Status.INTERRUPTED and not message:
        message = "The app closed while this ran. Press F5 to retry."
    if not message or task.status is Status.CANCELLED:
        return None
    style = "$foreground-muted" if task.status is Status.INTERRUPTED else "$error"
    parts: list = [(one_line(message, 300), style)]
    if task.error_hint:
        parts.append((f" — {one_line(task.error_hint, 300)}", "$foreground-muted"))
    return Content.assemble(*parts)


class CardInfo(Widget):
    """The card's text: prompt (2 lines), profile · model, status + elapsed, bar, error."""

    DEFAULT_CSS = """
    CardInfo {
        width: 1fr;
        height: 100%;
        padding-left: 2;
    }
    """

    def __init__(self, card: TaskCard) -> None:
        super().__init__()
        self.card = card

    def render(self) -> Content:
        t = self.card.imgtask
        width = max(10, self.content_size.width or 60)
        lines: list[Content] = []
        prompt = Content(one_line(t.prompt))
        if t.starred:
            prompt = Content.assemble(("★ ", "$warning"), prompt)
        if self.card.has_class("-grid"):  # the grid's two lines: prompt, status
            return Content("\n").join(
                [
                    prompt.truncate(width, ellipsis=True),
                    status_line(t, self.card.clock()).truncate(width, ellipsis=True),
                ]
            )
        wrapped = prompt.wrap(width)
        if len(wrapped) > 2:
            wrapped = [wrapped[0], Content(" ").join(wrapped[1:]).truncate(width, ellipsis=True)]
        lines += wrapped
        lines.append(
            Content.styled(params_summary(t), "$foreground-muted").truncate(width, ellipsis=True)
        )
        lines.append(Content(""))
        lines.append(
            status_line(t, self.card.clock(), self.card.cost_of).truncate(width, ellipsis=True)
        )
        progress = 1.0 if t.status is Status.DONE else max(0.0, min(1.0, t.progress()))
        filled = round(progress * width)
        lines.append(
            Content.assemble(
                ("━" * filled, BAR_STYLE.get(t.status, "$accent")), ("─" * (width - filled), "dim")
            )
        )
        error = error_text(t)
        if error is not None:
            wrapped = error.wrap(width)
            if len(wrapped) > 2:
                wrapped = [
                    wrapped[0],
                    Content(" ").join(wrapped[1:]).truncate(width, ellipsis=True),
                ]
            lines += wrapped
        return Content("\n").join(lines)


class TaskCard(Widget):
    """A task row. Not focusable: the list owns focus and marks the selected card."""

    DEFAULT_CSS = f"""
    TaskCard {{
        layout: horizontal;
        height: {THUMB_ROWS + 1};
        padding: 0 1;
        border-left: outer $panel;
        background: $surface;
        margin-bottom: 1;
        &.-selected {{
            border-left: outer $accent;
            background: $boost;
        }}
        #pic {{
            width: {THUMB_COLS};
            height: 100%;
        }}
        #thumb {{
            width: {THUMB_COLS};
            height: {THUMB_ROWS};
            background: $panel;
        }}
        #pic-label {{
            width: 100%;
            height: 1;
            color: $text-muted;
            text-style: italic;
        }}
        &.-grid {{
            layout: vertical;
            width: 1fr;
            height: {GRID_CARD_ROWS};
            #pic {{ width: 100%; height: {THUMB_ROWS + 1}; align-horizontal: center; }}
            #pic-label {{ width: {THUMB_COLS}; }}
            CardInfo {{ padding-left: 0; height: 2; }}
        }}
    }}
    """

    def __init__(self, task: Task, kind: str, clock=time.time, cost_of: CostFn = task_cost) -> None:
        super().__init__(id=f"task-{task.id}")
        self.imgtask = task
        self.kind = kind
        self.clock = clock
        self.cost_of = cost_of  # the task's cost at its profile's prices
        self.unfinished = True
        self._has_picture = False
        self._picture: Image | Frames | None = None
        self._slot = 0  # which image of the task the picture is (its label says so)
        self._label = ""
        self._text_pending = False  # `refresh_task_after_paint` waits for a screen update
        # The children exist from the start, so the app may update a card before it is
        # composed or after it is removed (under load both happen): nothing is queried.
        self._thumb = ImageView(kind, self._placeholder(), id="thumb")
        self._pic_label = Static("", id="pic-label")
        self._info = CardInfo(self)

    @property
    def has_picture(self) -> bool:
        """The card shows a picture (a preview or the final image)."""
        return self._has_picture

    @property
    def picture(self) -> Image | Frames | None:
        """The picture handed to `set_picture` (shrunk to the card's box; `Frames` for an
        animation), or None."""
        return self._picture

    @property
    def has_final(self) -> bool:
        """The card already shows a final image (later frames and finals leave it alone)."""
        return self._has_picture and not self.unfinished

    def compose(self) -> ComposeResult:
        with Vertical(id="pic"):
            yield self._thumb
            yield self._pic_label
        yield self._info

    def on_mount(self) -> None:
        self.refresh_task()

    def _placeholder(self) -> str:
        t = self.imgtask
        if t.status is Status.QUEUED:
            return "queued"
        if t.status is Status.RUNNING:
            return "waiting for\nfirst frame…"
        if t.status is Status.FAILED:
            return "no image"
        if t.status in (Status.CANCELLED, Status.INTERRUPTED):
            return "no frame"
        return ""

    # -- updates from the app -------------------------------------------------------------

    def refresh_task(self) -> None:
        """Re-read the task (on a state change, not per tick)."""
        self._text_pending = False  # (a pending `refresh_task_after_paint` has nothing left)
        self._update_label()
        if not self._has_picture:
            self._thumb.show(None, self._placeholder())
        self._info.refresh()

    def refresh_task_after_paint(self) -> None:
        """`refresh_task` once the screen's next update is out: a new frame's picture is
        painted in that update and the card's text (~1.5 ms of lines at every frame, which
        Textual rendered before the picture) in the next (`benchmarks/preview_latency.py`,
        "to the screen's next update"). Calls meanwhile make one refresh."""
        if self._text_pending:
            return
        self._text_pending = True
        if not self.call_after_refresh(self._refresh_pending):  # (a card being removed)
            self._text_pending = False

    @property
    def text_pending(self) -> bool:
        """`refresh_task_after_paint` was called and its refresh has not run yet."""
        return self._text_pending

    def _refresh_pending(self) -> None:
        if self._text_pending:  # (else `refresh_task` ran meanwhile)
            self.refresh_task()

    def tick(self, now: float | None = None) -> None:
        """The elapsed time moved on: repaint the text (the app calls this once a second)."""
        self._info.refresh()

    def info_text(self) -> str:
        """The card's text as shown (for tests and debugging)."""
        return self._info.render().plain

    @property
    def slot(self) -> int:
        """Which image of the task the picture is (0-based)."""
        return self._slot

    def set_picture(
        self, picture: Image | Frames | None, unfinished: bool, slot: int | None = None
    ) -> None:
        """Show a still, or play an animation (`Frames`: the view's `FramePlayer`).
        `slot`: which image of the task it is (0-based); None means the one
        `Task.preview()` picks, the first image that has a final."""
        self.unfinished = unfinished
        if slot is None:
            slots = self.imgtask.slots
            finals = [i for i, s in enumerate(slots) if s.image is not None or s.image_path]
            slot = finals[0] if finals else 0
        self._slot = slot
        self._has_picture = picture is not None
        self._picture = picture
        self._thumb.show(picture, self._placeholder())
        self._update_label()

    def _update_label(self) -> None:
        t = self.imgtask
        label = ""
        if self._has_picture:
            if self.unfinished:
                label = "preview" if t.status is Status.RUNNING else "unfinished preview"
            elif t.n > 1:
                label = f"image {self._slot + 1} of {t.n}"  # the status line: how many done
        if label != self._label:
            self._label = label
            self._pic_label.update(label, layout=False)  # fixed size: no layout pass
