"""The main screen's upper part: the task list and the preview pane, laid out for the space.

Wide terminals (at least `SIDE_BY_SIDE` columns): the list on the left, the selected
task's images large on the right. Narrower but tall enough: the preview below the list.
Small (80x24): the list alone; Enter opens the detail view. The grid view (`grid`, F8)
shows the cards as a grid over the whole width instead, without the preview.

The gallery follows the list's selection (`TaskList.Selected`) into the preview; the app
tells the preview when a task changes (`preview.task_changed`).
"""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Container
from textual.reactive import reactive

from imgtui.tui.widgets.preview import PreviewPane
from imgtui.tui.widgets.task_list import TaskList

SIDE_BY_SIDE = 110  # columns from which the preview sits beside the list
BELOW_MIN_ROWS = 26  # rows the gallery needs to show the preview below the list
LIST_SHARE = 0.4  # of the width, for the list beside the preview
LIST_MIN, LIST_MAX = 56, 90  # columns of the list beside the preview


class Gallery(Container):
    """Lays out the list and the preview (classes `-side`, `-below`, `-alone`, `-grid`)."""

    DEFAULT_CSS = """
    Gallery {
        height: 1fr;
        layout: vertical;
        &.-side { layout: horizontal; }
        &.-side > PreviewPane { width: 1fr; height: 100%; border-left: vkey $panel; }
        &.-below > TaskList { height: 1fr; }
        &.-below > PreviewPane { width: 100%; height: 45%; border-top: hkey $panel; }
        &.-alone > PreviewPane, &.-grid > PreviewPane { display: none; }
        &.-alone > TaskList, &.-grid > TaskList { width: 100%; }
    }
    """

    grid: reactive[bool] = reactive(False, init=False)

    def __init__(self, task_list: TaskList, preview: PreviewPane, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.task_list = task_list
        self.preview = preview
        self.arrangement = ""

    def compose(self) -> ComposeResult:
        yield self.task_list
        yield self.preview

    def on_mount(self) -> None:
        self._arrange(self.size.width, self.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._arrange(event.size.width, event.size.height)

    def _arrange(self, width: int, height: int) -> None:
        if not width or not height:
            return
        if self.grid:
            arrangement = "grid"
        elif width >= SIDE_BY_SIDE:
            arrangement = "side"
        elif height >= BELOW_MIN_ROWS:
            arrangement = "below"
        else:
            arrangement = "alone"
        for name in ("grid", "side", "below", "alone"):
            self.set_class(name == arrangement, f"-{name}")
        if arrangement == "side":
            self.task_list.styles.width = max(LIST_MIN, min(LIST_MAX, int(width * LIST_SHARE)))
        else:
            self.task_list.styles.width = "100%"
        if arrangement != self.arrangement:
            self.arrangement = arrangement
            if self.preview_shown:
                self.call_after_refresh(self.preview.show, self.task_list.selected_task)

    @property
    def preview_shown(self) -> bool:
        return self.arrangement in ("side", "below")

    def watch_grid(self) -> None:
        self.task_list.grid = self.grid
        self._arrange(self.size.width, self.size.height)

    def toggle_grid(self) -> None:
        self.grid = not self.grid

    @on(TaskList.Selected)
    async def _selected(self, event: TaskList.Selected) -> None:
        await self.preview.show(self.task_list.selected_task)
