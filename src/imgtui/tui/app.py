"""The imgtui app: task list, composer, parameter bar; one worker per task.

Data flows one way (STYLE.md): a task's worker iterates `stream_images(...)`, decodes and
shrinks each frame in a thread, and posts a `TaskEvent`; the app's handler is the only place
that calls `tasks.apply(task, event)`, persists the task and updates that task's card.

Store calls run on one dedicated thread, in order, so a task's final image is on disk
before the row that points at it is written, and the UI thread never waits on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from imgtui.api.events import Completed, Failed, FailureKind, Partial, Progress, Started
from imgtui.api.request import RequestError
from imgtui.config import Config, ConfigError, Profile, default_output_dir
from imgtui.tasks import SlotStatus, Status, Task, apply
from imgtui.tui import imaging
from imgtui.tui.messages import PictureReady, TaskEvent
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.detail import DetailResult, DetailScreen
from imgtui.tui.screens.search import HistoryFilter, SearchScreen
from imgtui.tui.session import Params, available_profiles, build_request, find_profile
from imgtui.tui.widgets.composer import Attachments, Composer, PromptArea, check_image
from imgtui.tui.widgets.param_bar import ParamBar
from imgtui.tui.widgets.task_card import THUMB_COLS, THUMB_ROWS, TaskCard, one_line
from imgtui.tui.widgets.task_list import TaskList

HISTORY_LIMIT = 200
SHARED_POOL_SLOTS = 24  # streams on the shared client (make_client's pool holds 32 connections)
# Threads decoding and shrinking pictures. Pillow lets go of the GIL while it decodes but
# takes it back between chunks, so every extra thread is one more contender the event loop
# queues behind (benchmarks/loop_lag.py): two keep both cores busy without that convoy.
PICTURE_THREADS = 2


def _start_demo_server() -> str:
    """Start the embedded demo server (blocking; run in a thread) and return its base URL."""
    from imgtui.demo import embedded_server

    return embedded_server().base_url  # started on first use


class ImgtuiApp(App[None]):
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
        self.demo_base_url = demo_base_url
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
        self._task_workers: dict[str, Worker] = {}
        self._store_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imgtui-store")
        self._picture_pool = ThreadPoolExecutor(
            max_workers=PICTURE_THREADS, thread_name_prefix="imgtui-picture"
        )
        self._pending_store: set[Future] = set()
        self._demo_lock = asyncio.Lock()
        self._client_lock = asyncio.Lock()
        self._clients: dict[float, Any] = {}  # shared httpx clients by timeout
        self._slots_in_flight = 0
        self._history_loaded = asyncio.Event()

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="◧")
        yield self.task_list
        yield self.param_bar
        yield self.composer
        yield Footer()

    @cached_property
    def task_list(self) -> TaskList:
        return TaskList(self._make_card, id="tasks")

    @cached_property
    def param_bar(self) -> ParamBar:
        return ParamBar(id="param-bar")

    @cached_property
    def composer(self) -> Composer:
        return Composer(id="composer")

    def on_mount(self) -> None:
        self.param_bar.show(self.params)
        self.composer.area.focus()
        self._update_subtitle()
        self.call_after_refresh(self._start_history)
        self.set_interval(1.0, self._tick)

    def _start_history(self) -> None:
        """After the first frame (reading history would compete with painting it for the
        GIL). Still first on the store thread: any task saved later lands after it."""
        self._load_history(self._db(self._open_history))
        self._warm_up()

    @work(group="warm-up", exit_on_error=False)
    async def _warm_up(self) -> None:
        """Build the shared TLS context now, in a thread: the first task would otherwise
        build it while frames stream (it holds the GIL for tens of ms)."""
        from imgtui.api.pool import ssl_context

        await asyncio.to_thread(ssl_context)

    # -- the store thread -----------------------------------------------------------------

    def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future:
        """Run a store call on the store thread (in submission order)."""
        future = self._store_pool.submit(partial(fn, *args, **kwargs))
        self._pending_store.add(future)
        future.add_done_callback(self._pending_store.discard)
        return asyncio.wrap_future(future)

    def in_picture_thread(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """Run image work (decode, shrink) on the picture threads."""
        return asyncio.get_running_loop().run_in_executor(self._picture_pool, partial(fn, *args))

    def _db_background(
        self, fn: Callable[..., Any], *args: Any, what: str = "History not saved"
    ) -> None:
        """Fire and forget a store call; a failure becomes a toast."""
        future = self._db(fn, *args)

        def done(f: asyncio.Future) -> None:
            if not f.cancelled() and f.exception() is not None:
                self.notify(str(f.exception()), title=what, severity="error")

        future.add_done_callback(done)

    def _open_history(self) -> tuple[Any, list[Task]]:
        report = self.store.open()
        self.store.mark_interrupted()
        return report, self.store.load(limit=self.history_limit)

    # Once start-up is done, everything alive (modules, CSS, widgets, history) is frozen:
    # moved out of the cyclic collector's sight (refcounting still frees it). A full
    # collection walks every tracked object, and with Textual's many small objects that
    # paused the UI 100-250 ms mid-stream (benchmarks/loop_lag.py).
    @work(group="history", exit_on_error=False)
    async def _load_history(self, history: asyncio.Future) -> None:
        try:
            report, tasks = await history
        except Exception as exc:  # StoreError: the app still works, without history
            self.notify(str(exc), title="History unavailable", severity="error", timeout=10)
            self._history_loaded.set()
            return
        if getattr(report, "message", None):
            self.notify(report.message, title="History", severity="warning", timeout=15)
        tasks = [t for t in tasks if t.id not in self.tasks]
        for task in tasks:
            self.tasks.setdefault(task.id, task)
        await self.task_list.add_history(tasks)
        self._update_subtitle()
        self._history_loaded.set()
        self.call_after_refresh(gc.freeze)

    def _make_card(self, task: Task) -> TaskCard:
        return TaskCard(task, self.image_kind, self.clock)

    @on(TaskList.CardsMounted)
    def _cards_mounted(self, event: TaskList.CardsMounted) -> None:
        wanted = []
        for card in event.cards:
            source, unfinished = card.imgtask.preview()
            if source is not None and not card._has_picture:
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

    def _history_picture(self, source: bytes | Path, box: tuple[int, int]):
        if isinstance(source, Path):
            try:
                source = self.store.thumbnail(source, *box)
            except Exception:
                return None
        return imaging.thumbnail(source, box)

    @property
    def thumb_box(self) -> tuple[int, int]:
        return imaging.box_pixels(self.image_kind, THUMB_COLS, THUMB_ROWS)

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
        prompt = text.strip()
        if not prompt:
            self.notify("Type a prompt first.", title="Nothing to send", severity="warning")
            return None
        missing = self.params.profile.missing_env()
        if missing:
            self.notify(
                f"${{{missing[0]}}} is not set in the environment (profile {self.params.profile.name}).",
                title="Can't send: api_key",
                severity="error",
            )
            return None
        attachments = self.composer.attachments
        params = self.params.task_params()
        if attachments.previous_response_id and self.params.profile.api_mode == "responses":
            params["previous_response_id"] = attachments.previous_response_id
        try:
            build_request(prompt, params)  # every scalar field, before anything is sent
            images = [check_image(str(p), "image") for p in attachments.images]
            mask = (
                check_image(str(attachments.mask), "mask") if attachments.mask and images else None
            )
        except RequestError as exc:
            self.notify(exc.message, title=f"Can't send: {exc.field}", severity="error")
            return None
        task = Task(
            prompt=prompt,
            params=params,
            profile_name=self.params.profile.name,
            api_mode=self.params.profile.api_mode,
            input_images=[str(p) for p in images],
            mask=str(mask) if mask else None,
            parent_id=attachments.parent_id,
        )
        self.composer.clear_attachments()  # (the prompt area emptied itself on Enter)
        self._launch(task, self.params.profile)
        return task

    def add_task(self, task: Task) -> TaskCard:
        """Show a new task at the top of the list and select it."""
        self.tasks[task.id] = task
        card = self._make_card(task)
        self.call_next(self.task_list.add_first, card)
        self._update_subtitle()
        return card

    def _launch(self, task: Task, profile: Profile) -> None:
        task.start(now=self.clock())
        self.add_task(task)
        self._db_background(self.store.save, task)
        self._task_workers[task.id] = self.run_worker(
            self._stream(
                task.id, profile, task.prompt, dict(task.params), list(task.input_images), task.mask
            ),
            name=f"task {task.id}",
            group=f"task-{task.id}",
            exit_on_error=False,
        )
        self._update_subtitle()

    async def _connection(self, profile: Profile):
        if profile.is_demo:
            async with self._demo_lock:
                if self.demo_base_url is None:
                    self.demo_base_url = await asyncio.to_thread(_start_demo_server)
            return profile.connection(demo_base_url=self.demo_base_url)
        return profile.connection()

    async def _stream(
        self,
        task_id: str,
        profile: Profile,
        prompt: str,
        params: dict,
        images: list[str],
        mask: str | None,
    ) -> None:
        """The task's worker: wire events in, `TaskEvent` messages out. Touches no widget."""
        from imgtui.api import stream_images

        n = int(params.get("n", 1))
        failure: Failed | None = None
        try:
            conn = await self._connection(profile)
            request = await asyncio.to_thread(build_request, prompt, params, images, mask)
        except RequestError as exc:
            failure = Failed(0, FailureKind.BAD_REQUEST, f"{exc.field}: {exc.message}")
        except (OSError, ValueError, RuntimeError) as exc:  # e.g. the demo server could not start
            failure = Failed(
                0,
                FailureKind.CONNECTION,
                f"{type(exc).__name__}: {exc}",
                "The demo server could not start." if profile.is_demo else "",
            )
        if failure is not None:
            for slot in range(n):
                self.post_message(TaskEvent(task_id, replace(failure, slot=slot)))
            return
        client, shared = None, False
        try:
            client, shared = await self._http_client(conn, n)
            await self._consume(
                task_id, stream_images(conn, request, client=client), self.thumb_box
            )
        finally:
            if shared:
                self._slots_in_flight -= n
            elif client is not None:
                await client.aclose()

    async def _http_client(self, conn, n: int):
        """An httpx client for a task: one shared per timeout (made once, in a thread: creating
        a client builds an SSL context, tens of ms the UI must not wait for); a task that would
        overflow its connection pool gets its own."""
        from imgtui.api.pool import make_client

        if self._slots_in_flight + n > SHARED_POOL_SLOTS:
            return await asyncio.to_thread(make_client, conn), False
        async with self._client_lock:
            client = self._clients.get(conn.timeout)
            if client is None:
                client = self._clients[conn.timeout] = await asyncio.to_thread(make_client, conn)
        self._slots_in_flight += n  # no await after this: the caller's finally gives it back
        return client, True

    async def _consume(self, task_id: str, stream, box: tuple[int, int]) -> None:
        shown_final = False
        async with contextlib.aclosing(stream) as events:
            async for event in events:
                picture = None
                if isinstance(event, (Partial, Completed)):
                    # `Partial.image` decodes its base64 on first access: do that here too.
                    picture = await self.in_picture_thread(
                        _frame_picture, event, None if shown_final else box
                    )
                    shown_final = shown_final or (
                        isinstance(event, Completed) and picture is not None
                    )
                    if isinstance(event, Partial) and not event.image:
                        continue  # its base64 was broken: nothing to show or keep
                self.post_message(TaskEvent(task_id, event, picture))

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
            self._save_final(task, event.slot, event.image)
        elif isinstance(event, Partial):
            # The newest preview and the row go to disk now: after a crash they are all there is.
            # (`event.image` was decoded in the worker's thread; the write runs on the store thread.)
            self._db_background(
                self.store.write_partial, task, event.slot, event.image, what="Preview not saved"
            )
            self._db_background(self.store.save, task)
        if card is not None and not isinstance(event, (Progress, Started)):
            card.refresh_task()
        if task.status is not before and task.status.ended:
            self._task_ended(task)
        self._forward_to_detail(task, event)

    def _save_final(self, task: Task, slot: int, data: bytes) -> None:
        """Write a final image on the store thread; then the bytes in memory are redundant."""
        future = self._db(self.store.write_image, task, slot, data)

        def done(f: asyncio.Future) -> None:  # back on the event loop
            if f.cancelled():
                return
            if f.exception() is not None:
                self.notify(str(f.exception()), title="Image not saved", severity="error")
                return
            s = task.slots[slot]
            s.image = None
            s.partial = None

        future.add_done_callback(done)

    def _task_ended(self, task: Task) -> None:
        """A task reached an end state: keep unfinished previews on disk, save, tell the user."""
        self._task_workers.pop(task.id, None)
        if task.status in (Status.FAILED, Status.CANCELLED) or any(
            s.status is not SlotStatus.DONE for s in task.slots
        ):
            for i, slot in enumerate(task.slots):
                if slot.partial is not None and slot.image is None and slot.image_path is None:
                    self._db_background(
                        self.store.write_partial, task, i, slot.partial, what="Preview not saved"
                    )
        self._db_background(self.store.save, task)
        card = self.task_list.card(task.id)
        if card is not None:
            card.refresh_task()
        self.task_list.sync_bindings()
        self._update_subtitle()
        if len(self.screen_stack) > 1:
            showing = isinstance(self.screen, DetailScreen) and self.screen.imgtask.id == task.id
            if not showing:
                self._toast_ended(task)

    def _toast_ended(self, task: Task) -> None:
        title = one_line(task.prompt, 50)
        if task.status is Status.DONE:
            self.notify(f"Done in {task.elapsed():.1f}s", title=title)
        elif task.status is Status.FAILED:
            self.notify(task.error_message or "failed", title=f"Failed: {title}", severity="error")

    def _forward_to_detail(self, task: Task, event: object) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen) and screen.imgtask.id == task.id:
                screen.task_changed(event)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        group = worker.group or ""
        if not group.startswith("task-") or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
        ):
            return
        task = self.tasks.get(group[len("task-") :])
        if task is None or task.status.ended:
            return
        if event.state is WorkerState.ERROR:
            error = worker.error
            if isinstance(error, RequestError):
                kind, message = FailureKind.BAD_REQUEST, f"{error.field}: {error.message}"
            else:
                kind, message = (
                    FailureKind.STREAM,
                    f"Unexpected error: {type(error).__name__}: {error}",
                )
            self.log.error(f"task {task.id} worker failed", error)
        else:
            kind, message = FailureKind.STREAM, "The stream ended before the image arrived"
        for i, slot in enumerate(task.slots):
            if not slot.ended:
                self.post_message(TaskEvent(task.id, Failed(i, kind, message)))

    def _tick(self) -> None:
        """Once a second: only the running cards' elapsed time."""
        now = self.clock()
        for task in self.tasks.values():
            if task.status is Status.RUNNING:
                card = self.task_list.card(task.id)
                if card is not None:
                    card.tick(now)

    def _sync_collector(self, running: int) -> None:
        """Full collections wait while tasks stream (see `_defer_full_collections`). When the
        last stream ends, the deferred one runs once this frame (with the final picture) is
        on screen, not in the middle of painting it."""
        if running:
            _defer_full_collections(True)
        elif gc.get_threshold() != _GC_THRESHOLDS:
            self.call_after_refresh(self._resume_full_collections)

    def _resume_full_collections(self) -> None:
        if not any(t.status is Status.RUNNING for t in self.tasks.values()):
            _defer_full_collections(False)
            gc.collect()

    def _update_subtitle(self) -> None:
        running = sum(1 for t in self.tasks.values() if t.status is Status.RUNNING)
        self._sync_collector(running)
        total = len(self.tasks)
        parts = [f"{running} running"] if running else []
        parts.append(f"{total} task{'s' if total != 1 else ''}")
        if self.history_filter.active:
            parts.append(f"showing {self.history_filter.describe()} (F4)")
        self.sub_title = " · ".join(parts)

    # -- task actions -------------------------------------------------------------------

    def cancel_task(self, task_id: str) -> bool:
        """Cancel a running task: mark it, then cancel its worker (which closes the HTTP stream)."""
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
        missing = [p for p in old.input_images if not Path(p).is_file()]
        if missing:
            self.notify(f"no such file: {missing[0]}", title="Can't retry: image", severity="error")
            return None
        task = Task(
            prompt=old.prompt,
            params=dict(old.params),
            profile_name=profile.name,
            api_mode=old.api_mode,
            input_images=list(old.input_images),
            mask=old.mask,
            parent_id=old.parent_id,
        )
        self._launch(task, profile)
        return task

    def reuse_task(self, task_id: str) -> None:
        """Put a task's prompt, parameters and input images back into the composer."""
        task = self.tasks.get(task_id)
        if task is None:
            return
        base = find_profile(self.config, task.profile_name) or self.params.profile
        self.params = self.params.with_task(task.params, base, task.api_mode)
        self.param_bar.show(self.params)
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
        image = _slot_image(task, slot)
        response_id = task.response_id if task.api_mode == "responses" else None
        if image is None and response_id is None:
            self.notify("This task has no image to refine.", severity="warning")
            return
        self.composer.set_refine(task.id, response_id, [] if response_id else [image])
        self.composer.area.focus()
        self.notify("Describe the change and press Enter.", title="Refine")

    def toggle_star(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        task.starred = not task.starred
        self._db_background(self.store.set_starred, task.id, task.starred)
        card = self.task_list.card(task_id)
        if card is not None:
            card.refresh_task()

    def ask_delete(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        running = (
            " It is still running and will be cancelled." if task.status is Status.RUNNING else ""
        )
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
        if task.status is Status.RUNNING:
            self.cancel_task(task_id)
        worker = self._task_workers.pop(task_id, None)
        if worker is not None:
            worker.cancel()
        del self.tasks[task_id]
        self.task_list.forget({task_id})
        await self.task_list.remove_task(task_id)
        self._db_background(self.store.delete, task_id, what="Not deleted")
        self._update_subtitle()

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
            count = await self._db(self.store.delete_failed)
        except Exception as exc:
            self.notify(str(exc), title="Not deleted", severity="error")
            return
        self._update_subtitle()
        self.notify(
            f"Deleted {count} failed or cancelled task{'s' if count != 1 else ''} and their files."
        )

    @on(TaskList.Requested)
    def _list_request(self, event: TaskList.Requested) -> None:
        self.run_task_action(event.action, event.task_id)

    def run_task_action(self, action: str, task_id: str) -> None:
        if action == "open":
            self.open_detail(task_id)
        elif action == "cancel":
            if not self.cancel_task(task_id):
                self.notify("That task is not running.", severity="warning")
        elif action == "retry":
            self.retry_task(task_id)
        elif action == "delete":
            self.ask_delete(task_id)
        elif action == "star":
            self.toggle_star(task_id)
        elif action == "reuse":
            self.reuse_task(task_id)
        elif action == "refine":
            self.refine_task(task_id)

    def open_detail(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return

        def done(result: DetailResult | None) -> None:
            if result is None:
                return
            if result.action == "refine":
                self.refine_task(task_id, result.slot)
            else:
                self.run_task_action(result.action, task_id)

        self.push_screen(DetailScreen(task, self.image_kind, self.clock), done)

    # -- composer helpers ----------------------------------------------------------------

    def action_edit_params(self) -> None:
        from imgtui.tui.screens.params import ParamsScreen

        def done(params: Params | None) -> None:
            if params is not None:
                self._set_params(params)

        self.push_screen(ParamsScreen(self.params, available_profiles(self.config)), done)

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
        self._set_params(replace(self.params, profile=replace(profile)))
        if self.config.get(name) is not None and self.config.settings.active_profile != name:
            self.config.set_active(name)
            from imgtui.config import save

            self._db_background(save, self.config, what="Active profile not saved")
        if announce:
            self.notify(f"{name} · {profile.model}", title="Profile")

    def _set_params(self, params: Params) -> None:
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

    def action_focus_tasks(self) -> None:
        self.screen.set_focus(self.task_list)

    def action_selected(self, action: str) -> None:
        task_id = self.task_list.selected_id
        if task_id is None:
            self.notify("No task selected.", severity="warning")
            return
        self.run_task_action(action, task_id)

    def action_cancel_all(self) -> None:
        for task_id in [t.id for t in self.tasks.values() if t.status is Status.RUNNING]:
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

    # -- settings, search, export ---------------------------------------------------------

    def action_open_settings(self) -> None:
        from imgtui.config import save
        from imgtui.tui.screens.settings import SettingsScreen

        def done(active: str | None) -> None:
            if active:  # the screen saved: refresh what the composer uses
                self.use_profile(active, announce=False)

        self.push_screen(
            SettingsScreen(self.config, save=save, demo_base_url=self.demo_base_url), done
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
            found = await self._db(self.store.load, limit=self.history_limit, **flt.store_args())
        except Exception as exc:  # StoreError: keep the list as it is
            self.notify(str(exc), title="Search failed", severity="error")
            return
        live = {t.id: t for t in self.tasks.values()}
        tasks = [live.get(t.id, t) for t in found]  # running tasks keep their live state
        for task in tasks:
            self.tasks.setdefault(task.id, task)
        await self.task_list.replace_all(tasks)
        self._update_subtitle()
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
            count = await self._db(self.store.export_zip, path)
        except Exception as exc:
            self.notify(str(exc), title="Export failed", severity="error")
            return None
        self.notify(f"{count} tasks → {path}", title="Exported", timeout=10)
        return path

    def action_open_data_folder(self) -> None:
        self.call_next(self._open_data_folder)

    async def _open_data_folder(self) -> None:
        from imgtui.tui.screens.detail import open_in_viewer

        folder = Path(self.store.root)
        error = await open_in_viewer(folder)
        if error:
            self.copy_to_clipboard(str(folder))
            self.notify(f"{folder} (path copied)\n{error}", title="Data folder", timeout=10)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Settings",
            "Provider profiles: add, edit, import a share link (F3)",
            self.action_open_settings,
        )
        yield SystemCommand(
            "Find tasks",
            "Search prompts, filter by status or star (F4, / in the list)",
            self.action_find,
        )
        yield SystemCommand(
            "Show all tasks",
            "Clear the search filter",
            lambda: self.call_next(self.apply_filter, HistoryFilter()),
        )
        yield SystemCommand(
            "Export history as zip",
            "All images plus a JSON manifest, into the output folder",
            self.action_export_zip,
        )
        yield SystemCommand(
            "Open data folder", "Where history and images live", self.action_open_data_folder
        )
        yield SystemCommand(
            "Parameters",
            "Edit size, quality, n, model, partial images (F2)",
            self.action_edit_params,
        )
        yield SystemCommand(
            "Switch profile",
            "Choose the active provider profile (Ctrl+O)",
            self.action_pick_profile,
        )
        yield SystemCommand(
            "Attach reference image", "Make the next task an edit (Ctrl+F)", self.action_attach
        )
        yield SystemCommand(
            "Clear attachments",
            "Remove attached images, mask and refine",
            self.action_clear_attachments,
        )
        yield SystemCommand(
            "Focus prompt", "Move the cursor to the composer", self.action_focus_prompt
        )
        yield SystemCommand(
            "Focus task list", "Move the cursor to the task list", self.action_focus_tasks
        )
        for action, title, help in (
            ("open", "Open task", "Show the selected task large, with its details (Enter)"),
            ("cancel", "Cancel task", "Stop the selected running task (x)"),
            ("retry", "Retry task", "Run the selected task's prompt again (r)"),
            (
                "reuse",
                "Reuse parameters",
                "Put the selected task's prompt and parameters in the composer",
            ),
            ("refine", "Refine image", "Edit the selected task's image with a new instruction"),
            ("star", "Star / unstar task", "Keep the selected task when deleting failed ones (s)"),
            ("delete", "Delete task", "Delete the selected task and its images (Delete)"),
        ):
            yield SystemCommand(title, help, partial(self.action_selected, action))
        yield SystemCommand(
            "Cancel all running tasks",
            "Stop every task that is still running",
            self.action_cancel_all,
        )
        yield SystemCommand(
            "Delete failed tasks",
            "Delete failed and cancelled tasks (not starred ones)",
            self.action_delete_failed,
        )

    # -- quitting -----------------------------------------------------------------------

    async def action_quit(self) -> None:
        if isinstance(self.screen, ConfirmScreen):
            return  # already asking
        running = [t for t in self.tasks.values() if t.status is Status.RUNNING]
        if not running:
            await self.shutdown()
            self.exit()
            return

        async def done(yes: bool | None) -> None:
            if yes:
                await self.shutdown()
                self.exit()

        count = len(running)
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
        """Cancel every running task, close their streams, and wait for the store to catch up."""
        workers = [self._task_workers[tid] for tid in list(self._task_workers)]
        self.action_cancel_all()
        for worker in workers:
            worker.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(w.wait() for w in workers), return_exceptions=True), timeout
            )
        pending = [asyncio.wrap_future(f) for f in list(self._pending_store)]
        if pending:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), timeout)

    async def on_unmount(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                await client.aclose()
        self._picture_pool.shutdown(wait=False, cancel_futures=True)
        _defer_full_collections(False)
        self._store_pool.shutdown(wait=True)


_GC_THRESHOLDS = gc.get_threshold()


def _defer_full_collections(streaming: bool) -> None:
    """While tasks stream, full (generation 2) collections wait until none does.

    A full collection holds the GIL for as long as it walks every tracked object, tens of
    ms even after the start-up freeze (benchmarks/loop_lag.py); the young generations,
    which hold most garbage, are still collected as usual.
    """
    young, middle, full = _GC_THRESHOLDS
    gc.set_threshold(young, middle, 1_000_000 if streaming else full)


def _frame_picture(event: Partial | Completed, box: tuple[int, int] | None):
    """Thread side: base64-decode the frame (Partial decodes lazily) and shrink it to `box`."""
    data = event.image
    return imaging.thumbnail(data, box) if box is not None else None


def _slot_image(task: Task, slot: int) -> Path | None:
    images = [s.image_path for s in task.slots]
    if 0 <= slot < len(images) and images[slot] is not None:
        return images[slot]
    return next((p for p in images if p is not None), None)


def run_app(renderer: str | None = None, profile: str | None = None) -> int:
    """Start the app (the `imgtui` command with no arguments). Returns the exit code."""
    from imgtui.config import load

    try:
        config = load()
    except ConfigError as exc:
        print(f"imgtui: {exc}", file=sys.stderr)
        return 2
    if profile is not None:
        if config.get(profile) is None and find_profile(config, profile) is None:
            print(f"imgtui: no profile named {profile!r}", file=sys.stderr)
            return 2
    kind = imaging.prepare_renderer(imaging.renderer_name(renderer or config.settings.renderer))
    app = ImgtuiApp(config=config, renderer=kind)
    if profile is not None:
        found = find_profile(config, profile)
        if found is not None:
            app.params = replace(app.params, profile=replace(found))
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(run_app())
