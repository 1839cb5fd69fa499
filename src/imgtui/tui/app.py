"""The imgtui app: compose the main screen, bind keys, route messages.

Data flows one way (STYLE.md): each task runs as one Textual worker (its own group) around
`imgtui.runner.Runner.run`, which streams, decodes and shrinks frames in a thread and hands
back events; the worker posts each as a `TaskEvent`, and `on_task_event` is the only place
that calls `tasks.apply(task, event)`, saves the task and updates its card.

Store calls go through `imgtui.store.History` (one thread, in order), so a task's final
image is on disk before the row that points at it, and the UI thread never waits on
SQLite. Palette commands live in `commands`, the collector policy in `collector`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker

from imgtui import images, memory
from imgtui.api.events import Completed, Failed, Partial, Progress, Started, Submitted
from imgtui.api.request import RequestError
from imgtui.batch import BatchItem
from imgtui.config import Config, ConfigError, default_output_dir
from imgtui.desktop import open_in_viewer
from imgtui.draft import Attachments, Draft, Params, available_profiles, find_profile
from imgtui.runner import Runner
from imgtui.store import History, StoreError
from imgtui.tasks import SlotStatus, Status, Task, apply
from imgtui.text import clean
from imgtui.tui import imaging
from imgtui.tui.collector import Collector
from imgtui.tui.commands import app_commands
from imgtui.tui.messages import PictureReady, TaskAction, TaskActionRequested, TaskEvent
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.detail import DetailResult, DetailScreen
from imgtui.tui.screens.search import HistoryFilter, SearchScreen
from imgtui.tui.terminal import OrderedKeys, feed_keys, typed_during_probe
from imgtui.tui.widgets.composer import Composer, PromptArea
from imgtui.tui.widgets.param_bar import ParamBar
from imgtui.tui.widgets.task_card import THUMB_COLS, THUMB_ROWS, TaskCard, one_line
from imgtui.tui.widgets.task_list import TaskList

HISTORY_LIMIT = 200
# A batch line's keys that are image parameters (`tasks.ImageParams` fields).
_BATCH_PARAM_FIELDS = (
    "size",
    "quality",
    "n",
    "output_format",
    "background",
    "output_compression",
    "moderation",
    "input_fidelity",
    "partial_images",
    "transparent",
)
# Threads decoding and shrinking pictures. Pillow lets go of the GIL while it decodes but
# takes it back between chunks, so every extra thread is one more contender the event loop
# queues behind (benchmarks/loop_lag.py): two keep both cores busy without that convoy.
PICTURE_THREADS = 2


class FrameDecoder:
    """Thread side of a task's frames: base64-decode (a `Partial` decodes on first access)
    and shrink to the card's box; after the first final picture only the decode is done."""

    def __init__(self, box: tuple[int, int]) -> None:
        self.box = box
        self.shown_final = False

    def __call__(self, event: Partial | Completed) -> Any:
        data = event.image
        if self.shown_final:
            return None
        picture = images.picture(data, self.box) if data else None
        self.shown_final = isinstance(event, Completed) and picture is not None
        return picture


class ImgtuiApp(OrderedKeys, App[None]):
    """Generate images and watch them form."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "imgtui"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f2", "edit_params", "Params", id="app.params"),
        Binding("ctrl+o", "pick_profile", "Profile", id="app.profile"),
        Binding("ctrl+f", "attach", "Attach", id="app.attach"),
        Binding("f3", "open_settings", "Settings", id="app.settings"),
        Binding("f4", "find", "Find", id="app.find"),
    ]

    def __init__(
        self,
        config: Config | None = None,
        store: Any = None,
        demo_base_url: str | None = None,
        renderer: str | None = None,
        clock: Callable[[], float] = time.time,
        history_limit: int = HISTORY_LIMIT,
        runner: Runner | None = None,
    ) -> None:
        super().__init__()
        if config is None:
            from imgtui.config import load

            config = load()
        if store is None:
            from imgtui.config import data_dir
            from imgtui.store import Store

            store = Store(data_dir())
        self.config = config
        self.store = store
        self.history = History(store)
        self.pictures = ThreadPoolExecutor(
            max_workers=PICTURE_THREADS, thread_name_prefix="imgtui-picture"
        )
        self.runner = runner or Runner(demo_base_url=demo_base_url, executor=self.pictures)
        self.clock = clock
        self.history_limit = history_limit
        self.image_kind = imaging.prepare_renderer(
            renderer
            if renderer and renderer != "auto"
            else imaging.renderer_name(config.settings.renderer)
        )
        self.params = Params.from_config(config)
        self.tasks: dict[str, Task] = {}
        self.history_filter = HistoryFilter()
        self.history_loaded = asyncio.Event()
        self.collector = Collector(self.call_after_refresh)
        self._task_workers: dict[str, Worker] = {}

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every toast (the screens' too): never parsed as markup, control characters
        removed. Error messages, prompts and file names from anywhere pass through here."""
        super().notify(
            clean(message), title=clean(title), severity=severity, timeout=timeout, markup=False
        )

    def action_help_quit(self) -> None:  # Textual's own hint uses markup
        self.notify("Press Ctrl+Q to quit the app", title="Do you want to quit?")

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="◧")
        yield self.task_list
        yield self.param_bar
        yield self.composer
        yield Footer()

    @cached_property
    def task_list(self) -> TaskList:
        return TaskList(self.make_card, id="tasks")

    @cached_property
    def param_bar(self) -> ParamBar:
        return ParamBar(id="param-bar")

    @cached_property
    def composer(self) -> Composer:
        return Composer(id="composer")

    @property
    def thumb_box(self) -> tuple[int, int]:
        return imaging.box_pixels(self.image_kind, THUMB_COLS, THUMB_ROWS)

    def make_card(self, task: Task) -> TaskCard:
        return TaskCard(task, self.image_kind, self.clock)

    def on_mount(self) -> None:
        if not self.is_headless:
            self._handle_signals()
        self.param_bar.show(self.params)
        self.composer.area.focus()
        feed_keys(self, typed_during_probe())  # typed while the terminal was probed
        self.update_subtitle()
        self.call_after_refresh(self._start_history)
        self.set_interval(1.0, self.tick)

    def _start_history(self) -> None:
        """After the first frame (reading history would compete with painting it for the
        GIL). Still first on the store thread: any task saved later lands after it."""
        self._load_history(self.history.open(self.history_limit))
        self.run_worker(self.runner.warm_up(), group="warm-up", exit_on_error=False)

    @work(group="history", exit_on_error=False)
    async def _load_history(self, opened: asyncio.Future) -> None:
        try:
            report, tasks = await opened
        except Exception as exc:  # StoreError: the app still works, without history
            self.notify(str(exc), title="History unavailable", severity="error", timeout=10)
            self.history_loaded.set()
            return
        if report.message:
            self.notify(report.message, title="History", severity="warning", timeout=15)
        tasks = [t for t in tasks if t.id not in self.tasks]
        for task in tasks:
            self.tasks.setdefault(task.id, task)
        await self.task_list.add_history(tasks)
        self.update_subtitle()
        with contextlib.suppress(StoreError):  # recall then starts from this session's prompts
            self.composer.area.prompts.load(await self.history.call(self.store.prompts))
        self.history_loaded.set()
        self.call_after_refresh(self.collector.freeze)
        for task in tasks:
            if task.job is not None and not task.status.ended:
                self.resume_task(task)

    def resume_task(self, task: Task) -> bool:
        """Poll again a task a polled provider accepted before the app was closed (its
        `job` handle), instead of submitting it anew. False when its profile is gone."""
        profile = find_profile(self.config, task.profile_name)
        if profile is None or task.job is None:
            self.notify(
                f"Task {task.id} waits on a provider, but its profile "
                f"{task.profile_name!r} is gone.",
                title="Not resumed",
                severity="warning",
                markup=False,
            )
            return False
        job = task.job
        draft = Draft.from_task(task, profile)
        draft.job = job
        task.queue()
        task.job = job
        card = self.task_list.card(task.id)
        if card is not None:
            card.refresh_task()
        self._task_workers[task.id] = self.run_worker(
            self._run(task.id, draft),
            name=f"task {task.id}",
            group=f"task-{task.id}",
            exit_on_error=False,
        )
        return True

    def in_picture_thread(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """Run image work (decode, shrink) on the picture threads."""
        return asyncio.get_running_loop().run_in_executor(self.pictures, fn, *args)

    def _store_error(self, what: str) -> Callable[[BaseException], None]:
        return lambda exc: self.notify(str(exc), title=what, severity="error", markup=False)

    @on(TaskList.CardsMounted)
    def _cards_mounted(self, event: TaskList.CardsMounted) -> None:
        wanted = []
        for card in event.cards:
            source, unfinished = card.imgtask.preview()
            if source is not None and not card.has_picture:
                wanted.append((card.imgtask.id, source, unfinished))
        if wanted:
            self._decode_history(wanted)

    @work(group="history-pictures", exit_on_error=False)
    async def _decode_history(self, wanted: list[tuple[str, bytes | Path, bool]]) -> None:
        """Card pictures for history, two at a time, each posted as soon as it is ready."""
        box = self.thumb_box
        limit = asyncio.Semaphore(2)

        async def one(task_id: str, source: bytes | Path, unfinished: bool) -> None:
            async with limit:
                picture = await self.in_picture_thread(self._history_picture, source, box)
            if picture is not None:
                self.post_message(PictureReady(task_id, picture, unfinished))

        await asyncio.gather(*(one(*w) for w in wanted))

    def _history_picture(self, source: bytes | Path, box: tuple[int, int]) -> Any:
        if isinstance(source, Path) and not images.is_animated(source):
            try:
                source = self.store.thumbnail(source, *box)
            except Exception:
                return None
        return images.picture(source, box)  # an animated file plays (its frames)

    def on_picture_ready(self, message: PictureReady) -> None:
        card = self.task_list.card(message.task_id)
        if card is not None and message.picture is not None:
            card.set_picture(message.picture, message.unfinished)

    # -- submitting -----------------------------------------------------------------------

    @on(PromptArea.Submitted)
    def _submitted(self, event: PromptArea.Submitted) -> None:
        if self.submit(event.text) is None and not self.composer.text:
            self.composer.set_text(event.text)  # refused: the prompt comes back to be fixed

    def submit(self, text: str) -> Task | None:
        """Start a task from the composer. On a bad field: a toast, and the composer keeps everything."""
        if not text.strip():
            self.notify("Type a prompt first.", title="Nothing to send", severity="warning")
            return None
        draft = Draft.from_choice(text, self.params, self.composer.attachments)
        try:
            draft.check()  # every field, before anything is sent
        except RequestError as exc:
            self.notify(
                exc.message, title=f"Can't send: {exc.field}", severity="error", markup=False
            )
            return None
        self.composer.clear_attachments()  # (the prompt area emptied itself on Enter)
        return self.launch(draft)

    def add_task(self, task: Task) -> TaskCard:
        """Show a new task at the top of the list and select it."""
        self.tasks[task.id] = task
        card = self.make_card(task)
        self.call_next(self.task_list.add_first, card)
        self.update_subtitle()
        return card

    def launch(self, draft: Draft) -> Task:
        """A new task for `draft`, queued, shown, saved, and run by its own worker."""
        task = draft.task()
        task.queue()
        self.add_task(task)
        self.history.background(
            self.store.save, task, on_error=self._store_error("History not saved")
        )
        self._task_workers[task.id] = self.run_worker(
            self._run(task.id, draft),
            name=f"task {task.id}",
            group=f"task-{task.id}",
            exit_on_error=False,
        )
        return task

    async def _run(self, task_id: str, draft: Draft) -> None:
        """The task's worker: the runner's events out as messages. Touches no widget."""
        await self.runner.run(
            draft,
            lambda event, picture: self.post_message(TaskEvent(task_id, event, picture)),
            FrameDecoder(self.thumb_box),
        )

    # -- wire events -> task state -> this card ------------------------------------------

    def on_task_event(self, message: TaskEvent) -> None:
        task = self.tasks.get(message.task_id)
        if task is None:
            return
        event = message.event
        before = task.status
        if not apply(task, event, now=self.clock()):
            return  # stale frame, or late after a cancel
        card = self.task_list.card(task.id)
        if card is not None and message.picture is not None and not card.has_final:
            card.set_picture(message.picture, unfinished=not isinstance(event, Completed))
        if isinstance(event, Completed):
            self._save_final(task, event.slot)
        elif isinstance(event, Failed) and event.raw:
            self._keep_broken(task, event)
        elif isinstance(event, Submitted):  # the handle goes to disk now: a restart resumes
            self.history.background(
                self.store.save, task, on_error=self._store_error("History not saved")
            )
        elif isinstance(event, Partial):
            # The newest preview and the row go to disk now: after a crash they are all there is.
            self._keep_partial_on_disk(task, event.slot, event.image)
            self.history.background(self.store.save, task)
        if task.status is not before:
            if card is not None:
                card.refresh_task()
            self.update_subtitle()
        elif card is not None and not isinstance(event, (Progress, Started)):
            card.refresh_task()
        if task.status is not before and task.status.ended:
            self._task_ended(task)
        self._forward_to_detail(task, event)

    def _save_final(self, task: Task, slot: int) -> None:
        """Write a final image on the store thread; then the bytes in memory are redundant.
        When the data folder cannot take it, the image is kept elsewhere (`_rescue`)."""
        data = task.slots[slot].image
        if data is None:
            return
        original = task.slots[slot].original
        if original is not None:  # local transparency: the server's image is kept too
            self.history.background(
                self.store.write_original,
                task,
                slot,
                original,
                on_error=self._store_error("Original not saved"),
            )
        future = self.history.call(self.store.write_image, task, slot, data)

        def done(f: asyncio.Future[Any]) -> None:  # back on the event loop
            if f.cancelled():
                return
            error = f.exception()
            if error is not None:
                self.run_worker(self._rescue(task, slot, data, error), exit_on_error=False)
                return
            s = task.slots[slot]
            s.image = None
            s.original = None
            s.partial = None

        future.add_done_callback(done)

    def _keep_broken(self, task: Task, event: Failed) -> None:
        """A final image that failed the check: its bytes go to the data folder as a
        `.broken` file (the path is shown in the detail view and a toast), then leave memory."""
        future = self.history.call(self.store.write_broken, task, event.slot, event.raw)

        def done(f: asyncio.Future) -> None:  # back on the event loop
            if f.cancelled():
                return
            s = task.slots[event.slot]
            s.error = replace(event, raw=None)
            if f.exception() is not None:
                self._store_error("Broken image not kept")(f.exception())  # type: ignore[arg-type]
                return
            self.history.background(self.store.save, task)
            self._forward_to_detail(task, None)
            self.notify(
                f"{event.message}\nIts bytes were kept at {s.broken_path}",
                title="Broken image",
                severity="error",
                timeout=20,
                markup=False,
            )

        future.add_done_callback(done)

    def _keep_partial_on_disk(self, task: Task, slot: int, data: bytes) -> None:
        """Write a slot's newest preview frame on the store thread; once it is on disk, the
        slot keeps the file (`partial_path`), not the bytes (a 4K frame is ~24 MB)."""
        future = self.history.call(self.store.write_partial, task, slot, data)

        def done(f: asyncio.Future) -> None:  # back on the event loop
            if f.cancelled():
                return
            if f.exception() is not None:
                self._store_error("Preview not saved")(f.exception())  # type: ignore[arg-type]
                return
            s = task.slots[slot]
            if s.partial is data:  # not a newer frame that arrived meanwhile
                s.partial = None

        future.add_done_callback(done)

    async def _rescue(self, task: Task, slot: int, data: bytes, error: BaseException) -> None:
        """A paid image is never lost (issue 10.5): when the data folder cannot take it, it
        goes to a fallback folder (the path is shown, and Save copies it from there); when
        none can, it stays in memory, and Save in the detail view writes it out."""
        from imgtui.api.request import image_extension
        from imgtui.store.files import keep_bytes, rescue_dirs

        ext = image_extension(data, default="bin")
        stem = f"imgtui-{task.id}-{slot + 1}"
        path = await asyncio.to_thread(keep_bytes, data, stem, ext, rescue_dirs(self.store.root))
        if path is None:
            self.notify(
                f"{error}\nNo fallback folder could take it either: it is kept in memory until "
                "you quit. Open the task and press s to save it.",
                title="Image not saved",
                severity="error",
                timeout=30,
                markup=False,
            )
            return
        s = task.slots[slot]
        s.image_path = path
        s.image = s.partial = None
        self.history.background(self.store.save, task)
        self._forward_to_detail(task, None)
        self.notify(
            f"{error}\nThe image was kept at {path}",
            title="Image not saved in history",
            severity="error",
            timeout=30,
            markup=False,
        )

    def _task_ended(self, task: Task) -> None:
        """A task reached an end state: keep unfinished previews on disk (files, not bytes),
        save, give the freed memory back, tell the user."""
        self._task_workers.pop(task.id, None)
        if task.status in (Status.FAILED, Status.CANCELLED) or any(
            s.status is not SlotStatus.DONE for s in task.slots
        ):
            for i, slot in enumerate(task.slots):
                if slot.partial is not None and slot.image is None and slot.image_path is None:
                    self._keep_partial_on_disk(task, i, slot.partial)
        self.history.background(
            self.store.save, task, on_error=self._store_error("History not saved")
        )
        # After the writes queued above (the store thread runs them in order) have dropped
        # the task's big buffers: the allocator returns the free pages to the OS.
        self.history.background(memory.give_back)
        card = self.task_list.card(task.id)
        if card is not None:
            card.refresh_task()
        self.task_list.sync_bindings()
        self.update_subtitle()
        if len(self.screen_stack) > 1:
            showing = isinstance(self.screen, DetailScreen) and self.screen.imgtask.id == task.id
            if not showing:
                self._toast_ended(task)

    def _toast_ended(self, task: Task) -> None:
        title = one_line(task.prompt, 50)
        if task.status is Status.DONE:
            self.notify(f"Done in {task.elapsed():.1f}s", title=title, markup=False)
        elif task.status is Status.FAILED:
            self.notify(
                task.error_message or "failed",
                title=f"Failed: {title}",
                severity="error",
                markup=False,
            )

    def _forward_to_detail(self, task: Task, event: object) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen) and screen.imgtask.id == task.id:
                screen.task_changed(event)

    def tick(self) -> None:
        """Once a second: only the running cards' elapsed time."""
        now = self.clock()
        for task in self.tasks.values():
            if task.status is Status.RUNNING:
                card = self.task_list.card(task.id)
                if card is not None:
                    card.tick(now)

    def update_subtitle(self) -> None:
        running = sum(1 for t in self.tasks.values() if t.status is Status.RUNNING)
        queued = sum(1 for t in self.tasks.values() if t.status is Status.QUEUED)
        self.collector.streaming(running)
        total = len(self.tasks)
        parts = [f"{running} running"] if running else []
        if queued:
            parts.append(f"{queued} queued")
        parts.append(f"{total} task{'s' if total != 1 else ''}")
        if self.history_filter.active:
            parts.append(f"showing {self.history_filter.describe()} (F4)")
        self.sub_title = " · ".join(parts)

    # -- task actions -------------------------------------------------------------------

    @on(TaskList.Requested)
    def _list_request(self, event: TaskList.Requested) -> None:
        self.run_task_action(TaskAction(event.action), event.task_id)

    @on(TaskActionRequested)
    def _screen_request(self, event: TaskActionRequested) -> None:
        self.run_task_action(event.action, event.task_id, event.slot)

    def run_task_action(self, action: TaskAction, task_id: str, slot: int = 0) -> None:
        if action is TaskAction.OPEN:
            self.open_detail(task_id)
        elif action is TaskAction.CANCEL:
            if not self.cancel_task(task_id):
                self.notify("That task is not running.", severity="warning")
        elif action is TaskAction.RETRY:
            self.retry_task(task_id)
        elif action is TaskAction.DELETE:
            self.ask_delete(task_id)
        elif action is TaskAction.STAR:
            self.toggle_star(task_id)
        elif action is TaskAction.REUSE:
            self.reuse_task(task_id)
        elif action is TaskAction.REFINE:
            self.refine_task(task_id, slot)

    def open_detail(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return

        def done(result: DetailResult | None) -> None:
            if result is not None:
                self.run_task_action(result.action, task_id, result.slot)

        screen = DetailScreen(
            task,
            self.image_kind,
            self.clock,
            pictures=self.pictures,
            history=self.history,
            output_dir=default_output_dir(self.config),
        )
        self.push_screen(screen, done)

    def cancel_task(self, task_id: str) -> bool:
        """Cancel a queued or running task: mark it, then cancel its worker (which closes
        the HTTP stream)."""
        task = self.tasks.get(task_id)
        if task is None or task.status.ended:
            return False
        worker = self._task_workers.pop(task_id, None)
        task.cancel(now=self.clock())
        if worker is not None:
            worker.cancel()
        self._task_ended(task)
        self._forward_to_detail(task, None)
        return True

    def retry_task(self, task_id: str) -> Task | None:
        """A new run of the same prompt and parameters (the old task stays in history)."""
        old = self.tasks.get(task_id)
        if old is None:
            return None
        base = find_profile(self.config, old.profile_name) or self.params.profile
        profile = self.params.with_task(old.params, base, old.api_mode).profile
        try:
            draft = Draft.from_task(old, profile).check()
        except RequestError as exc:
            self.notify(
                exc.message, title=f"Can't retry: {exc.field}", severity="error", markup=False
            )
            return None
        return self.launch(draft)

    def reuse_task(self, task_id: str) -> None:
        """Put a task's prompt, parameters and input images back into the composer."""
        task = self.tasks.get(task_id)
        if task is None:
            return
        base = find_profile(self.config, task.profile_name) or self.params.profile
        self.set_params(self.params.with_task(task.params, base, task.api_mode))
        self.composer.set_attachments(
            Attachments(
                [Path(p) for p in task.input_images], Path(task.mask) if task.mask else None
            )
        )
        self.composer.set_text(task.prompt)
        self.composer.area.focus()

    def refine_task(self, task_id: str, slot: int = 0) -> None:
        """Set the composer up for an edit of this task's image (Responses: a follow-up)."""
        task = self.tasks.get(task_id)
        if task is None:
            return
        image = task.slot_image(slot)
        response_id = task.response_id if task.api_mode == "responses" else None
        if image is None and response_id is None:
            self.notify("This task has no image to refine.", severity="warning")
            return
        self.composer.set_refine(
            task.id, response_id, [] if response_id or image is None else [image]
        )
        self.composer.area.focus()
        self.notify("Describe the change and press Enter.", title="Refine")

    def toggle_star(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        task.starred = not task.starred
        self.history.background(
            self.store.set_starred, task.id, task.starred, on_error=self._store_error("Not saved")
        )
        card = self.task_list.card(task_id)
        if card is not None:
            card.refresh_task()

    def ask_delete(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        running = " It is still running and will be cancelled." if task.active else ""
        question = f"Delete “{one_line(task.prompt, 60)}” and its images?{running}"

        def done(yes: bool | None) -> None:
            if yes:
                self.call_next(self.delete_task, task_id)

        self.push_screen(ConfirmScreen(question, yes="Delete", title="Delete task"), done)

    async def delete_task(self, task_id: str) -> None:
        """Delete a task (cancelling it first when it runs), its card and its files."""
        task = self.tasks.get(task_id)
        if task is None:
            return
        if task.active:
            self.cancel_task(task_id)
        del self.tasks[task_id]
        self.task_list.forget({task_id})
        await self.task_list.remove_task(task_id)
        self.history.background(
            self.store.delete, task_id, on_error=self._store_error("Not deleted")
        )
        self.update_subtitle()

    async def delete_failed(self) -> None:
        """Delete every failed or cancelled task (starred ones stay), in the whole history."""
        ids = [
            t.id
            for t in self.tasks.values()
            if t.status in (Status.FAILED, Status.CANCELLED) and not t.starred
        ]
        self.task_list.forget(set(ids))
        for task_id in ids:
            del self.tasks[task_id]
            await self.task_list.remove_task(task_id)
        try:
            count = await self.history.call(self.store.delete_failed)
        except Exception as exc:
            self.notify(str(exc), title="Not deleted", severity="error", markup=False)
            return
        self.update_subtitle()
        self.notify(
            f"Deleted {count} failed or cancelled task{'s' if count != 1 else ''} and their files."
        )

    def action_selected(self, action: str) -> None:
        task_id = self.task_list.selected_id
        if task_id is None:
            self.notify("No task selected.", severity="warning")
            return
        self.run_task_action(TaskAction(action), task_id)

    def action_cancel_all(self) -> None:
        for task_id in [t.id for t in self.tasks.values() if t.active]:
            self.cancel_task(task_id)

    def action_delete_failed(self) -> None:
        def done(yes: bool | None) -> None:
            if yes:
                self.call_next(self.delete_failed)

        self.push_screen(
            ConfirmScreen(
                "Delete every failed and cancelled task, with its files? Starred tasks are kept.",
                yes="Delete",
                title="Delete failed tasks",
            ),
            done,
        )

    # -- composer helpers ----------------------------------------------------------------

    def action_edit_params(self) -> None:
        from imgtui.tui.screens.params import ParamsScreen

        def done(params: Params | None) -> None:
            if params is not None:
                self.set_params(params)

        self.push_screen(ParamsScreen(self.params, available_profiles(self.config)), done)

    def action_batch(self) -> None:
        from imgtui.tui.screens.batch import BatchScreen

        def launch(items: list[BatchItem] | None) -> None:
            if items:
                self.launch_batch(items)

        self.push_screen(BatchScreen(self.estimate_batch), launch)

    def batch_drafts(self, items: list[BatchItem]) -> list[Draft]:
        """A checked draft per batch line: the current choice, then the line's own
        parameters. Raises RequestError naming the line of the first bad one."""
        drafts = []
        for item in items:
            p = item.params
            profile = self.params.profile
            if "profile" in p:
                found = find_profile(self.config, p["profile"])
                if found is None:
                    raise RequestError("profile", f"line {item.line}: no profile {p['profile']!r}")
                profile = found
            if "model" in p:
                profile = replace(profile, model=p["model"])
            if "stream" in p:
                profile = replace(profile, stream=p["stream"])
            choice = replace(self.params, profile=profile)
            params = replace(
                choice.image_params(),
                **{k: v for k, v in p.items() if k in _BATCH_PARAM_FIELDS},
            )
            draft = Draft(
                item.prompt,
                profile,
                params,
                tuple(Path(x) for x in p.get("images", [])),
                Path(p["mask"]) if "mask" in p else None,
            )
            try:
                drafts.append(draft.check())
            except RequestError as exc:
                raise RequestError(exc.field, f"line {item.line}: {exc.message}") from None
        return drafts

    def launch_batch(self, items: list[BatchItem]) -> list[Task]:
        """Every line as its own task, queued in order (nothing starts if a line is bad)."""
        try:
            drafts = self.batch_drafts(items)
        except RequestError as exc:
            self.notify(
                exc.message, title=f"Batch not run: {exc.field}", severity="error", markup=False
            )
            return []
        tasks = [self.launch(draft) for draft in drafts]
        self.notify(f"{len(tasks)} tasks queued", title="Batch", markup=False)
        return tasks

    def estimate_batch(self, items: list[BatchItem]) -> str:
        """What the batch may cost: the mean cost per image of finished tasks with the same
        model in this history, times the images asked for; unknown without such tasks."""
        from imgtui.models.prices import cost_usd

        model = self.params.profile.model
        costs = [
            c
            for t in self.tasks.values()
            if t.model == model
            for s in t.slots
            if s.usage is not None and (c := cost_usd(model, s.usage)) is not None
        ]
        images = sum(int(i.params.get("n", self.params.n)) for i in items)
        if not costs:
            return f"{images} images; cost unknown (no finished {model} task to go by)"
        mean = sum(costs) / len(costs)
        return f"{images} images; about ${mean * images:.2f} at ${mean:.3f} per {model} image"

    def action_pick_profile(self) -> None:
        from imgtui.tui.screens.settings import ProfilePicker

        def done(name: str | None) -> None:
            if name:
                self.use_profile(name)

        self.push_screen(
            ProfilePicker(available_profiles(self.config), self.params.profile.name), done
        )

    def use_profile(self, name: str, announce: bool = True) -> None:
        profile = find_profile(self.config, name)
        if profile is None:
            return
        self.set_params(replace(self.params, profile=replace(profile)))
        if self.config.get(name) is not None and self.config.settings.active_profile != name:
            self.config.set_active(name)
            from imgtui.config import save

            self.history.background(
                save, self.config, on_error=self._store_error("Active profile not saved")
            )
        if announce:
            self.notify(f"{name} · {profile.model}", title="Profile", markup=False)

    def set_params(self, params: Params) -> None:
        """The composer's choice for the next task."""
        self.params = params
        self.param_bar.show(params)

    @on(ParamBar.Clicked)
    def _param_bar_clicked(self) -> None:
        self.action_edit_params()

    def action_attach(self) -> None:
        from imgtui.tui.screens.attach import AttachScreen

        def done(attachments: Attachments | None) -> None:
            if attachments is not None:
                self.composer.set_attachments(attachments)
            self.composer.area.focus()

        self.push_screen(AttachScreen(self.composer.attachments), done)

    def action_clear_attachments(self) -> None:
        self.composer.set_attachments(Attachments())

    def action_focus_prompt(self) -> None:
        self.screen.set_focus(self.composer.area)  # now, not later: the next key goes there

    def action_type_in_prompt(self, text: str) -> None:
        """Text typed while the task list had focus: into the composer, which takes focus."""
        area = self.composer.area
        self.screen.set_focus(area)
        area.insert(text)

    def action_focus_tasks(self) -> None:
        self.screen.set_focus(self.task_list)

    # -- settings, search, export ---------------------------------------------------------

    def action_open_settings(self) -> None:
        from imgtui.config import save
        from imgtui.tui.screens.settings import SettingsScreen

        def done(active: str | None) -> None:
            if active:  # the screen saved: refresh what the composer uses
                self.use_profile(active, announce=False)

        self.push_screen(
            SettingsScreen(self.config, save=save, demo_base_url=self.runner.demo_base_url), done
        )

    def action_find(self) -> None:
        def done(flt: HistoryFilter | None) -> None:
            if flt is not None:
                self.call_next(self.apply_filter, flt)

        self.push_screen(SearchScreen(self.history_filter), done)

    async def apply_filter(self, flt: HistoryFilter) -> None:
        """Show the tasks that match: from the store (all history), plus matching running ones."""
        self.history_filter = flt
        try:
            found = await self.history.call(
                self.store.load, limit=self.history_limit, **flt.store_args()
            )
        except Exception as exc:  # StoreError: keep the list as it is
            self.notify(str(exc), title="Search failed", severity="error", markup=False)
            return
        live = {t.id: t for t in self.tasks.values()}
        tasks = [live.get(t.id, t) for t in found]  # running tasks keep their live state
        for task in tasks:
            self.tasks.setdefault(task.id, task)
        await self.task_list.replace_all(tasks)
        self.update_subtitle()
        if flt.active:
            self.notify(f"{len(tasks)} task{'s' if len(tasks) != 1 else ''} match", title="Find")

    def action_export_zip(self) -> None:
        self.call_next(self.export_zip)

    async def export_zip(self) -> Path | None:
        """Everything (images + manifest.json, never a key) into one zip in the output folder."""
        from datetime import datetime

        from imgtui.store import unique_path

        folder = default_output_dir(self.config)
        path = unique_path(folder, f"imgtui-history-{datetime.now():%Y%m%d-%H%M%S}", "zip")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            count = await self.history.call(self.store.export_zip, path)
        except Exception as exc:
            self.notify(str(exc), title="Export failed", severity="error", markup=False)
            return None
        self.notify(f"{count} tasks → {path}", title="Exported", timeout=10, markup=False)
        return path

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
        """Restore a backup into history (on the store thread) and show its tasks."""
        from imgtui.backup import import_backup, read_backups

        def work() -> tuple[list[str], int, list[str]]:
            with read_backups(paths) as backup:
                report = import_backup(backup, self.store)
            return report.added, len(report.skipped), report.warnings

        try:
            added, skipped, warnings = await self.history.call(work)
        except Exception as exc:  # BackupError, StoreError
            self.notify(str(exc), title="Import failed", severity="error", markup=False)
            return []
        await self._show_imported(added)
        note = f"{len(added)} tasks imported, {skipped} already here"
        if warnings:
            note += f"; {len(warnings)} warnings, e.g. {warnings[0]}"
        self.notify(note, title="History imported", timeout=10, markup=False)
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
        from imgtui.importing import import_images

        try:
            report = await self.history.call(import_images, paths, self.store)
        except Exception as exc:  # StoreError
            self.notify(str(exc), title="Import failed", severity="error", markup=False)
            return []
        await self._show_imported(report.added)
        if report.references:
            current = self.composer.attachments
            self.composer.set_attachments(
                Attachments(
                    images=[*current.images, *report.references],
                    mask=current.mask,
                    parent_id=current.parent_id,
                    previous_response_id=current.previous_response_id,
                )
            )
        self.notify(
            f"{len(report.added)} tasks recreated, {len(report.references)} references "
            f"attached, {len(report.skipped)} already here, {len(report.errors)} unreadable",
            title="Images imported",
            timeout=10,
            markup=False,
        )
        return report.added

    async def _show_imported(self, task_ids: list[str]) -> None:
        tasks = [t for t in await self.history.call(self._load_ids, task_ids) if t is not None]
        tasks = [t for t in tasks if t.id not in self.tasks]
        for task in tasks:
            self.tasks[task.id] = task
        if tasks:
            await self.task_list.add_history(tasks)
            self.update_subtitle()

    def _load_ids(self, task_ids: list[str]) -> list[Task | None]:
        return [self.store.get(task_id) for task_id in task_ids]

    def action_open_data_folder(self) -> None:
        self.call_next(self._open_data_folder)

    async def _open_data_folder(self) -> None:
        folder = Path(self.store.root)
        error = await open_in_viewer(folder)
        if error:
            self.copy_to_clipboard(str(folder))
            self.notify(
                f"{folder} (path copied)\n{error}", title="Data folder", timeout=10, markup=False
            )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from app_commands(self)

    # -- quitting -----------------------------------------------------------------------

    def _handle_signals(self) -> None:
        """SIGTERM and SIGHUP (the terminal window closed) end the app like Ctrl+Q with yes:
        streams closed, the store caught up, the terminal restored (issue 10.7)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        self.call_later(self._quit_on_signal, signum)

    async def _quit_on_signal(self, signum: int) -> None:
        await self.shutdown()
        self.exit(return_code=128 + signum)

    async def action_quit(self) -> None:
        if isinstance(self.screen, ConfirmScreen):
            return  # already asking
        active = [t for t in self.tasks.values() if t.active]
        if not active:
            await self.shutdown()
            self.exit()
            return

        async def done(yes: bool | None) -> None:
            if yes:
                await self.shutdown()
                self.exit()

        count = len(active)
        self.push_screen(
            ConfirmScreen(
                f"{count} tasks are still running. Quit and cancel them? Their last previews are kept."
                if count != 1
                else "1 task is still running. Quit and cancel it? Its last preview is kept.",
                yes="Quit",
                title="Quit",
            ),
            done,
        )

    async def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel every task, close their streams, and wait for the store to catch up."""
        workers = list(self._task_workers.values())
        self.action_cancel_all()
        for worker in workers:
            worker.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(w.wait() for w in workers), return_exceptions=True), timeout
            )
        await self.history.drain(timeout)

    async def on_unmount(self) -> None:
        await self.runner.aclose()
        self.pictures.shutdown(wait=False, cancel_futures=True)
        self.collector.restore()
        self.history.close()


def run_app(renderer: str | None = None, profile: str | None = None) -> int:
    """Start the app (the `imgtui` command with no arguments). Returns the exit code."""
    from imgtui.config import load

    try:
        config = load()
    except ConfigError as exc:
        print(f"imgtui: {exc}", file=sys.stderr)
        return 2
    found = find_profile(config, profile) if profile is not None else None
    if profile is not None and found is None:
        print(f"imgtui: no profile named {profile!r}", file=sys.stderr)
        return 2
    kind = imaging.prepare_renderer(imaging.renderer_name(renderer or config.settings.renderer))
    app = ImgtuiApp(config=config, renderer=kind)
    if found is not None:
        app.params = replace(app.params, profile=replace(found))
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(run_app())
