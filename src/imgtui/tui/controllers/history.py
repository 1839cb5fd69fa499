"""History on screen: the start-up load (and resuming polled tasks), card pictures of past
tasks, find, import, export, the data folder and settings. The store work is the
service's (`imgtui.service`), on its store thread."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from textual import on, work

from imgtui.desktop import open_in_viewer
from imgtui.draft import Attachments
from imgtui.store import StoreError
from imgtui.tasks import Task
from imgtui.tui import clipboard, imaging
from imgtui.tui.controllers.base import AppBase
from imgtui.tui.messages import PictureReady
from imgtui.tui.screens.search import HistoryFilter, SearchScreen
from imgtui.tui.widgets.task_card import THUMB_COLS, THUMB_ROWS
from imgtui.tui.widgets.task_list import EMPTY_TEXT, TaskList

__all__ = ["HistoryControl"]


class HistoryControl(AppBase):
    """Loading, finding, importing and exporting history (a mixin of the App)."""

    @property
    def thumb_box(self) -> tuple[int, int]:
        """A card picture's size in pixels for this renderer."""
        return imaging.box_pixels(self.image_kind, THUMB_COLS, THUMB_ROWS)

    def start_history(self) -> None:
        """After the first frame (reading history would compete with painting it for the
        GIL). Still first on the store thread: any task saved later lands after it."""
        self.load_history(self.service.open_history())
        self.call_after_refresh(self.warm_up)

    def warm_up(self) -> None:
        """One refresh later, once the footer's keys have painted: the runner's warm-up
        thread imports httpx and builds the TLS context (~80 ms holding the GIL for most of
        it), which delayed the first screen's footer by ~60 ms (benchmarks/startup.py)."""
        self.run_worker(self.service.runner.warm_up(), group="warm-up", exit_on_error=False)

    @work(group="history", exit_on_error=False)
    async def load_history(self, opened: asyncio.Future[Any]) -> None:
        tasks = await self.service.loaded(opened)
        if tasks is None:
            self.history_loaded.set()
            return
        await self.task_list.add_history(tasks)
        self.update_subtitle()
        with contextlib.suppress(StoreError):  # recall then starts from this session's prompts
            self.composer.area.prompts.load(await self.service.prompts())
        self.history_loaded.set()
        self.update_subtitle()  # and COUNT every stored task
        self.call_after_refresh(self.collector.freeze)
        for task in tasks:
            if task.job is not None and not task.status.ended:
                self.resume_task(task)

    @on(TaskList.Exhausted)
    async def older_history(self, event: TaskList.Exhausted) -> None:
        """The list reached its end: the next page of its source from the store (issue
        14.4). A stale message (the list has grown since) is ignored."""
        if not self.history_loaded.is_set() or event.shown != len(self.task_list.tasks):
            return
        older = await self.service.older()
        if older:
            await self.task_list.add_history(older)
            self.update_subtitle()

    def resume_task(self, task: Task) -> bool:
        """Poll again a task a polled provider accepted before the app was closed (its
        `job` handle), instead of submitting it anew. False when its profile is gone."""
        if not self.service.resume(task):
            return False
        card = self.task_list.card(task.id)
        if card is not None:
            card.refresh_task()
        return True

    # -- card pictures of past tasks ------------------------------------------------------

    @on(TaskList.CardsMounted)
    def _cards_mounted(self, event: TaskList.CardsMounted) -> None:
        wanted = []
        for card in event.cards:
            source, unfinished = card.imgtask.preview()
            if source is not None and not card.has_picture:
                wanted.append((card.imgtask.id, source, unfinished))
        if wanted:
            self.decode_history(wanted)

    @work(group="history-pictures", exit_on_error=False)
    async def decode_history(self, wanted: list[tuple[str, bytes | Path, bool]]) -> None:
        """Card pictures for history, two at a time, each posted as soon as it is ready."""
        box = self.thumb_box
        limit = asyncio.Semaphore(2)
        loop = asyncio.get_running_loop()

        async def one(task_id: str, source: bytes | Path, unfinished: bool) -> None:
            async with limit:
                picture = await loop.run_in_executor(
                    self.service.pictures, self.service.history_picture, source, box
                )
            if picture is not None:
                self.post_message(PictureReady(task_id, picture, unfinished))

        await asyncio.gather(*(one(*w) for w in wanted))

    def on_picture_ready(self, message: PictureReady) -> None:
        card = self.task_list.card(message.task_id)
        if card is not None and message.picture is not None:
            card.set_picture(message.picture, message.unfinished)

    # -- find -----------------------------------------------------------------------------

    def action_find(self) -> None:
        """F4: the live filter; the list follows it; Enter keeps it (the list gets the
        focus), Esc clears it."""

        def done(flt: HistoryFilter | None) -> None:
            if flt is None:
                return
            if flt != self.history_filter:
                self.call_next(self.apply_filter, flt)
            if flt.active:
                self.screen.set_focus(self.task_list)

        self.push_screen(
            SearchScreen(self.history_filter, self.apply_filter, self.service.filter_choices),
            done,
        )

    async def apply_filter(self, flt: HistoryFilter) -> int | None:
        """Show the tasks that match: from the store (all history), running ones with their
        live state. Returns how many match in all; None when the search failed."""
        self.history_filter = flt
        found = await self.service.search_counted(flt.task_filter(self.clock()))
        if found is None:
            return None
        tasks, total = found
        await self.task_list.replace_all(tasks)
        self.task_list.set_empty_text(
            f"No task matches {flt.describe()}.\nF4 then Esc shows every task again."
            if flt.active
            else EMPTY_TEXT
        )
        self.update_subtitle()
        return total

    # -- export, import -------------------------------------------------------------------

    def action_export_zip(self) -> None:
        self.call_next(self.export_zip)

    async def export_zip(self) -> Path | None:
        """Everything (images + manifest.json, never a key) into one zip in the output folder."""
        return await self.service.export_zip()

    def action_import_history(self) -> None:
        from imgtui.tui.screens.paths import PathsScreen

        self.push_screen(
            PathsScreen(
                "Import history",
                "An imgtui export zip, or a gpt_image_playground backup (all parts of a split "
                "one). Tasks already here are skipped; keys are never imported.",
            ),
            lambda paths: self.call_next(self.import_history, paths) if paths else None,
        )

    async def import_history(self, paths: list[Path]) -> list[str]:
        """Restore a backup into history and show its tasks; the ids added."""
        added, tasks = await self.service.import_history(paths)
        await self.show_imported(tasks)
        return added

    def action_import_images(self) -> None:
        from imgtui.tui.screens.paths import PathsScreen

        self.push_screen(
            PathsScreen(
                "Import images",
                "Images saved by imgtui come back as their tasks (prompt, parameters, model). "
                "Other images are attached to the composer as edit references.",
            ),
            lambda paths: self.call_next(self.import_images, paths) if paths else None,
        )

    async def import_images(self, paths: list[Path]) -> list[str]:
        """Tasks back from recipe-carrying images; plain images become edit references."""
        added, tasks, references = await self.service.import_images(paths)
        await self.show_imported(tasks)
        if references:
            current = self.composer.attachments
            self.composer.set_attachments(
                Attachments(
                    images=[*current.images, *references],
                    mask=current.mask,
                    parent_id=current.parent_id,
                    previous_response_id=current.previous_response_id,
                )
            )
        return added

    async def show_imported(self, tasks: list[Task]) -> None:
        if tasks:
            await self.task_list.add_history(tasks)
            self.update_subtitle()

    # -- the data folder -------------------------------------------------------------

    def action_open_data_folder(self) -> None:
        self.call_next(self.open_data_folder)

    async def open_data_folder(self) -> None:
        folder = Path(self.store.root)
        error = await open_in_viewer(folder)
        if error:
            pending = clipboard.copy_text(self, str(folder))
            self.notify(
                f"{folder} (path copied)\n{error}", title="Data folder", timeout=10, markup=False
            )
            await clipboard.tell_copy_problem(self, pending, "The path")
