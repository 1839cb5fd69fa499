"""What the app's controllers share: the task service and the main screen's widgets.

`AppBase` is an App whose toasts are plain text and logged (`notices.PlainNotices`);
`ImgtuiApp` (`tui.app`) builds what it declares. Controllers subclass it, so each can use
the others' public methods and the widgets without importing the App.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from textual import work

from imgtui.config import Config
from imgtui.draft import Params
from imgtui.service import TaskService
from imgtui.store import History, Store
from imgtui.tasks import Task
from imgtui.tui.collector import Collector
from imgtui.tui.desktop_notices import DoneNotifier
from imgtui.tui.notices import PlainNotices
from imgtui.tui.picture_gate import PictureGate
from imgtui.tui.screens.search import HistoryFilter
from imgtui.tui.widgets.composer import Composer
from imgtui.tui.widgets.gallery import Gallery
from imgtui.tui.widgets.param_bar import ParamBar
from imgtui.tui.widgets.preview import PreviewPane
from imgtui.tui.widgets.task_card import TaskCard
from imgtui.tui.widgets.task_list import TaskList

__all__ = ["AppBase"]


class AppBase(PlainNotices):
    """The app's shared state (set by `ImgtuiApp.__init__`) and main-screen widgets."""

    service: TaskService
    config: Config
    store: Store
    history: History
    tasks: dict[str, Task]  # the service's: every task of this session by id
    params: Params  # the composer's choice for the next task
    clock: Callable[[], float]
    image_kind: str
    history_filter: HistoryFilter
    history_loaded: asyncio.Event
    collector: Collector

    @cached_property
    def task_list(self) -> TaskList:
        return TaskList(self.make_card, id="tasks")

    @cached_property
    def picture_gate(self) -> PictureGate:
        """Streamed frames are decoded only for cards that can be seen (`picture_gate`)."""
        service = self.service
        loop_run = asyncio.get_running_loop().run_in_executor
        return PictureGate(
            self,
            service.decoders,
            self.task_list.card,
            lambda fn, *args: loop_run(service.pictures, fn, *args),
            service.box,
        )

    @cached_property
    def gallery(self) -> Gallery:
        """The task list and the preview pane of the selected task (or the grid view)."""
        service = self.service
        preview = PreviewPane(
            self.image_kind, service.pictures, self.clock, decoders=service.decoders, id="preview"
        )
        return Gallery(self.task_list, preview, id="gallery")

    @cached_property
    def param_bar(self) -> ParamBar:
        return ParamBar(id="param-bar")

    @cached_property
    def composer(self) -> Composer:
        return Composer(id="composer", data_root=Path(self.store.root))

    @cached_property
    def done_notifier(self) -> DoneNotifier:
        """Told when done: the desktop notification of a task that ends unfocused."""
        return DoneNotifier(self, lambda: self.config.settings.notify)

    def make_card(self, task: Task) -> TaskCard:
        return TaskCard(task, self.image_kind, self.clock, self.service.task_cost)

    def set_params(self, params: Params) -> None:
        """The composer's choice for the next task, kept as its profile's last choice
        (`draft.LastParams`: back at the next start and whenever the profile is chosen)."""
        self.params = params
        self.show_params()
        self.service.keep_params(params)

    def show_params(self) -> None:
        """The line above the composer: the choice, and today's spending on its profile."""
        self.param_bar.show(self.params, self.service.spending(self.params.profile.name))

    _counted_at = -1  # how many tasks the service had when the last COUNT was asked

    def update_subtitle(self) -> None:
        """Running, queued and total counts (every stored task: `service.recount`), and
        the filter shown, in the header."""
        if len(self.tasks) != self._counted_at and self.history_loaded.is_set():
            self._counted_at = len(self.tasks)
            self.call_later(self.recount)  # after the save the caller queues next
        self.show_counts()

    def show_counts(self) -> None:
        running, queued, total = self.service.counts()
        self.collector.streaming(running)
        parts = [f"{running} running"] if running else []
        if queued:
            parts.append(f"{queued} queued")
        parts.append(f"{total} task{'s' if total != 1 else ''}")
        marked = len(self.task_list.marked)
        if marked:
            parts.append(f"{marked} marked")
        if self.history_filter.active:
            parts.append(f"showing {self.history_filter.describe()} (F4)")
        self.sub_title = " · ".join(parts)

    @work(group="count", exit_on_error=False)
    async def recount(self) -> None:
        """COUNT the stored tasks for the header (after the writes queued before it)."""
        await self.service.recount()
        self.show_counts()
