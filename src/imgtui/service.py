"""The task service: one session's tasks and every operation on them, without Textual.

    service = TaskService(config, store, notify=..., spawn=..., emit=..., changed=...)
    task = service.new_task(draft); service.run(task, draft)   # queued, saved, streaming
    service.record(task_id, event)                               # wire event -> task state
    service.cancel(task_id); service.retry(task_id, choice); ...

It owns what a skin must not: the tasks by id, the history service (`store.History`: the
store thread), the picture threads, the task runner (`runner.Runner`: the same runner
`imgtui generate` streams through) and what happens on disk as a task lives (the final
image before the row, broken bytes kept, the newest preview kept, a paid image rescued to
a fallback folder when the data folder cannot take it: issue 10.5).

The skin (the TUI's App) gives it four callables and shows the rest:
- `spawn(name, coroutine)` runs a task's coroutine, named by the task id (the App: one
  Textual worker per task, in its own group), and returns a handle whose `cancel()` stops it;
- `emit(task_id, event, picture)` gets each event on the event loop (the App posts it as a
  message; its handler calls `record`, the only caller of `tasks.apply` here);
- `notify(message, title=, severity=, timeout=)` tells the user something (a toast);
- `changed(task)`: a store outcome changed a task after its last event (a detail view of it
  redraws).
What the user is told is said here; the skin only decides where it appears.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

from imgtui import images, memory
from imgtui.api.events import Completed, Event, Failed, Partial, Sent, Submitted
from imgtui.api.request import RequestError
from imgtui.batch import BatchItem
from imgtui.config import Config, Profile, default_output_dir
from imgtui.draft import Attachments, Draft, LastParams, Params, find_profile
from imgtui.models.listing import CACHE_FILE, ModelCache, ModelLists, model_notice
from imgtui.runner import Runner
from imgtui.spending import LimitReached, PriceBook, check_daily_limit, spending_line
from imgtui.store import History, Store, StoreError, TaskFilter
from imgtui.store.pages import HistoryPages
from imgtui.tasks import SlotStatus, Status, Task, apply

# What "Delete failed tasks" removes (`Store.delete_failed`): no final image to lose.
_FAILED = (Status.FAILED, Status.CANCELLED)

__all__ = [
    "BATCH_PARAM_FIELDS",
    "PICTURE_THREADS",
    "FrameDecoder",
    "Handle",
    "Notify",
    "Severity",
    "TaskService",
]

Severity = Literal["information", "warning", "error"]
# A batch line's keys that are image parameters (`tasks.ImageParams` fields).
BATCH_PARAM_FIELDS = (
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


def start_threads(pool: ThreadPoolExecutor, count: int) -> list[Future[None]]:
    """Start `count` threads of `pool` now, not at its first jobs. A `ThreadPoolExecutor`
    starts a thread inside `submit` when none is idle, and `Thread.start` waits until the
    new thread runs: on the event loop, while the other picture thread decodes a 4K frame
    and takes the GIL back between chunks, that wait was a 25-50 ms stall at the first
    frames (`loop_lag.py --trace-stalls`: `threading.wait` under `runner._stream`). Each
    job waits at a barrier until all `count` run, so no thread is idle for the next
    `submit` to reuse before the last one has started."""
    barrier = threading.Barrier(count)

    def started() -> None:
        try:
            barrier.wait(timeout=10.0)
        except threading.BrokenBarrierError:
            pass  # a thread could not start: the pool starts it at a later job, as before

    return [pool.submit(started) for _ in range(count)]


class Notify(Protocol):
    """Tell the user something (the App: a toast, never parsed as markup)."""

    def __call__(
        self,
        message: str,
        *,
        title: str = "",
        severity: Severity = "information",
        timeout: float | None = None,
    ) -> None: ...


class Handle(Protocol):
    """A running task's coroutine as the skin runs it (a Textual worker, an asyncio task)."""

    def cancel(self) -> object: ...


Spawn = Callable[[str, Coroutine[Any, Any, None]], Handle]
Emit = Callable[[str, Event, Any], object]


class FrameDecoder:
    """Thread side of a task's frames: base64-decode (a `Partial` decodes on first access)
    and, while `wanted`, decode and shrink to `box` (pixels: the card's picture;
    `images.picture`: `Frames` for an animation). Once a final picture is shown, only the
    finals of earlier images are decoded too (the card moves to the first image); of the
    rest only the base64.

    `wanted` is set by the skin on the event loop (the TUI: whether the task's card can be
    seen, `tui.picture_gate`) and read here; a frame not wanted costs no Pillow decode
    (~100-300 ms and ~33 MB of pixels for a 4K frame) for the card and counts in
    `skipped`.

    `also` is a second `(box, checker)` that partial frames are shrunk to from the same
    decode (`images.pictures`): the TUI's preview pane sets it while it shows this task,
    so the selected task's frame is decoded once for its card and the pane, not twice
    (~15-40 ms of a picture thread per frame at 1.5K-2K). Such a picture waits, the newest
    per image, until `made_also(slot, index, box)` gives it out; a frame is known by its
    image (`slot`) and its partial index (every frame of an image goes to the same file)."""

    def __init__(self, box: tuple[int, int]) -> None:
        self.box = box
        self.shown_slot: int | None = None  # the image whose final picture was shown
        self.wanted = True
        self.skipped = 0
        self.also: tuple[tuple[int, int], int | None] | None = None
        self._also: dict[int, tuple[int, tuple[int, int], Any]] = {}  # slot -> index, box, pic

    def __call__(self, event: Partial | Completed) -> Any:
        data = event.image  # base64 -> bytes here, not on the event loop
        final = isinstance(event, Completed)
        shown = self.shown_slot
        if not data or (shown is not None and (not final or event.slot >= shown)):
            return None
        also = None if final else self.also  # (read once: the event loop sets it)
        if not self.wanted:
            self.skipped += 1
            if also is None:
                return None
        targets = [(self.box, None)] if self.wanted else []
        made = images.pictures(data, [*targets, also] if also is not None else targets)
        if also is not None and isinstance(event, Partial):
            self._also[event.slot] = (event.index, also[0], made[-1])
        picture = made[0] if self.wanted else None
        if final and picture is not None:
            self.shown_slot = event.slot
        return picture

    def made_also(self, slot: int, index: int | None, box: tuple[int, int]) -> Any:
        """The picture of image `slot`'s partial frame `index` shrunk to `box` for `also`
        (an `Image`), or None when that very frame was not made at that box."""
        entry = self._also.get(slot)
        if entry is None or entry[0] != index or entry[1] != box:
            return None
        return entry[2]


@dataclass(frozen=True)
class Reuse:
    """What a past task puts back in the composer: its choice, inputs and prompt."""

    params: Params
    attachments: Attachments
    prompt: str


@dataclass(frozen=True)
class Refine:
    """What a refine continues: the parent task, its Responses id, or its image."""

    parent_id: str
    response_id: str | None
    images: list[Path]


class TaskService:
    """One session's tasks (see the module docstring). Call it from the event loop.

    `box` is the size in pixels frames are shrunk to (the card's picture); `history_limit`
    the number of newest tasks loaded at start and per search."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        notify: Notify,
        spawn: Spawn,
        emit: Emit,
        changed: Callable[[Task], object],
        box: tuple[int, int],
        runner: Runner | None = None,
        demo_base_url: str | None = None,
        clock: Callable[[], float],
        history_limit: int,
    ) -> None:
        self.config = config
        self.store = store
        self.history = History(store)
        self.pictures = ThreadPoolExecutor(
            max_workers=PICTURE_THREADS, thread_name_prefix="imgtui-picture"
        )
        start_threads(self.pictures, PICTURE_THREADS)  # not on the loop mid-stream
        self.runner = runner or Runner(demo_base_url=demo_base_url, executor=self.pictures)
        self.clock = clock
        self.history_limit = history_limit
        self.box = box
        self.tasks: dict[str, Task] = {}
        self.notify = notify
        self.spawn = spawn
        self.emit = emit
        self.changed = changed
        self.handles: dict[str, Handle] = {}
        self.decoders: dict[str, FrameDecoder] = {}  # running tasks' (`FrameDecoder.wanted`)
        self.pages = HistoryPages(self.history, history_limit)  # the list's older tasks
        self.stored_total: int | None = None  # COUNT of the stored tasks (`recount`)
        root = Path(store.root)
        # The last-used parameters per profile, and the providers' model lists (F2).
        self.last_params = LastParams(root / LastParams.FILE)
        self.model_lists = ModelLists(ModelCache(root / CACHE_FILE), self.runner.connection)

    def store_error(self, what: str) -> Callable[[BaseException], None]:
        """An `on_error` for a background store call: a toast titled `what`."""
        return lambda exc: self.notify(str(exc), title=what, severity="error")

    def counts(self) -> tuple[int, int, int]:
        """(running, queued, total): total counts every stored task (the last `recount`),
        not only those read (issue 14.4)."""
        running = sum(1 for t in self.tasks.values() if t.status is Status.RUNNING)
        queued = sum(1 for t in self.tasks.values() if t.status is Status.QUEUED)
        return running, queued, max(len(self.tasks), self.stored_total or 0)

    async def recount(self) -> int | None:
        """COUNT the stored tasks (after the writes queued before it); None when the store
        cannot be read."""
        try:
            self.stored_total = await self.pages.count()
        except StoreError:
            self.stored_total = None
        return self.stored_total

    async def older(self) -> list[Task]:
        """The next page of the list's source (all history, or the last search) that is not
        already here, kept; [] at the end (or a toast when the store failed)."""
        try:
            rows = await self.pages.next()
        except StoreError as exc:
            self.notify(str(exc), title="History unavailable", severity="error")
            return []
        older = [t for t in rows if t.id not in self.tasks]
        for task in older:
            self.tasks[task.id] = task
        return older

    # -- costs, the daily limit, models shutting down ------------------------------------

    def task_cost(self, task: Task) -> float | None:
        """USD for `task` at its profile's prices (`price_overrides` over the table)."""
        return PriceBook.of(self.config.profiles).cost(task)

    def spending(self, profile: str) -> str:
        """Today's spending on `profile` and its daily limit, one line ("" when none)."""
        saved = self.config.get(profile)
        limit = saved.daily_limit_usd if saved is not None else None
        return spending_line(
            self.tasks.values(), profile, limit, PriceBook.of(self.config.profiles)
        )

    def may_spend(self, profile_name: str) -> bool:
        """False, and the user told why, when the saved profile's daily spending limit is
        reached (`spending.check_daily_limit`). Running tasks are never touched."""
        saved = self.config.get(profile_name)
        if saved is None or saved.daily_limit_usd is None:
            return True
        try:
            check_daily_limit(
                self.tasks.values(), saved.name, saved.daily_limit_usd, saved.price_overrides
            )
        except LimitReached as exc:
            self.notify(str(exc), title="Not sent: daily limit", severity="error", timeout=15)
            return False
        return True

    def shutdown_warning(self, profile: Profile, model: str) -> str | None:
        """The warning before sending to `model` on `profile` when it is shut down or shuts
        down within 30 days: the provider's date when its list is known, else the table's."""
        url = self.runner.demo_base_url if profile.is_demo else None
        listing = self.model_lists.known(profile, url) if url or not profile.is_demo else None
        return model_notice(model, listing, date.today())

    def keep_params(self, params: Params) -> None:
        """Keep `params` as its profile's last choice (`LastParams`, on the store thread)."""
        # the profile as configured, the implicit demo and $OPENAI_API_KEY ones included
        # (`params.profile` carries the model chosen in F2, not the profile's own)
        configured = find_profile(self.config, params.profile.name)
        self.history.background(
            self.last_params.put,
            params,
            (configured or params.profile).model,
            on_error=self.store_error("Parameters not kept"),
        )

    # -- starting -----------------------------------------------------------------------

    def new_task(self, draft: Draft) -> Task:
        """A queued task for `draft`, kept and saved (not running yet: `run`)."""
        task = draft.task()
        task.queue()
        self.tasks[task.id] = task
        self.history.background(
            self.store.save, task, on_error=self.store_error("History not saved")
        )
        return task

    def run(self, task: Task, draft: Draft) -> None:
        """Start the task's coroutine through `spawn`: the runner's events go to `emit`."""
        self.handles[task.id] = self.spawn(task.id, self.stream(task.id, draft))

    async def stream(self, task_id: str, draft: Draft) -> None:
        """One task on the wire (`Runner.run`), frames decoded and shrunk to `box`."""
        decoder = self.decoders[task_id] = FrameDecoder(self.box)
        try:
            await self.runner.run(
                draft, lambda event, picture: self.emit(task_id, event, picture), decoder
            )
        finally:
            if self.decoders.get(task_id) is decoder:
                del self.decoders[task_id]

    def resume(self, task: Task) -> bool:
        """Poll again a task a polled provider accepted before the app was closed (its
        `job` handle), instead of submitting it anew. False when its profile is gone."""
        profile = find_profile(self.config, task.profile_name)
        if profile is None or task.job is None:
            self.notify(
                f"Task {task.id} waits on a provider, but its profile "
                f"{task.profile_name!r} is gone.",
                title="Not resumed",
                severity="warning",
            )
            return False
        job = task.job
        draft = Draft.from_task(task, profile)
        draft.job = job
        task.queue()
        task.job = job
        self.run(task, draft)
        return True

    def retry_draft(self, task_id: str, choice: Params, slot: int | None = None) -> Draft | None:
        """A checked draft of a past task's prompt and parameters, on its profile (else the
        current one), for the images `Task.retry_slots(slot)` names (n > 1: `slot` alone,
        or only the failed ones; issue 14.2); None (and a toast) when a field is refused."""
        old = self.tasks.get(task_id)
        if old is None:
            return None
        base = find_profile(self.config, old.profile_name) or choice.profile
        profile = choice.with_task(old.params, base, old.api_mode).profile
        redo = old.retry_slots(slot if old.n > 1 else None)
        try:
            draft = Draft.from_task(old, profile)
            if len(redo) != old.n:
                draft = replace(draft, params=replace(draft.params, n=len(redo)))
            return draft.check()
        except RequestError as exc:
            self.notify(exc.message, title=f"Can't retry: {exc.field}", severity="error")
            return None

    def batch_drafts(self, items: list[BatchItem], choice: Params) -> list[Draft]:
        """A checked draft per batch line: the current choice, then the line's own
        parameters. Raises RequestError naming the line of the first bad one."""
        drafts = []
        for item in items:
            p = item.params
            profile = choice.profile
            if "profile" in p:
                found = find_profile(self.config, p["profile"])
                if found is None:
                    raise RequestError("profile", f"line {item.line}: no profile {p['profile']!r}")
                profile = found
            if "model" in p:
                profile = replace(profile, model=p["model"])
            if "stream" in p:
                profile = replace(profile, stream=p["stream"])
            line_choice = replace(choice, profile=profile)
            params = replace(
                line_choice.image_params(),
                **{k: v for k, v in p.items() if k in BATCH_PARAM_FIELDS},
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

    def estimate_batch(self, items: list[BatchItem], choice: Params) -> str:
        """What the batch may cost: the mean cost per image of finished tasks with the same
        model in this history, times the images asked for; unknown without such tasks."""
        from imgtui.models.prices import cost_usd

        model = choice.profile.model
        costs = [
            c
            for t in self.tasks.values()
            if t.model == model
            for s in t.slots
            if s.usage is not None and (c := cost_usd(model, s.usage)) is not None
        ]
        count = sum(int(i.params.get("n", choice.n)) for i in items)
        if not costs:
            return f"{count} images; cost unknown (no finished {model} task to go by)"
        mean = sum(costs) / len(costs)
        return f"{count} images; about ${mean * count:.2f} at ${mean:.3f} per {model} image"

    # -- wire events -> task state -> disk ------------------------------------------------

    def record(self, task_id: str, event: Event) -> Task | None:
        """Apply one event (`tasks.apply`) and start what it means on disk; the task, or
        None for an unknown task, a stale frame or one late after a cancel."""
        task = self.tasks.get(task_id)
        if task is None or not apply(task, event, now=self.clock()):
            return None
        if isinstance(event, Completed):
            self.save_final(task, event.slot)
        elif isinstance(event, Failed) and event.raw:
            self.keep_broken(task, event)
        elif isinstance(event, (Submitted, Sent)):
            # A polled task's handle goes to disk now (a restart resumes it); the request
            # as sent is kept with the task.
            self.history.background(
                self.store.save, task, on_error=self.store_error("History not saved")
            )
        elif isinstance(event, Partial):
            # The newest preview and the row go to disk now: after a crash they are all there is.
            self.keep_partial(task, event.slot, event.image)
            self.history.background(self.store.save, task)
        return task

    def save_final(self, task: Task, slot: int) -> None:
        """Write a final image on the store thread; then the bytes in memory are redundant.
        When the data folder cannot take it, the image is kept elsewhere (`rescue`)."""
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
                on_error=self.store_error("Original not saved"),
            )
        future = self.history.call(self.store.write_image, task, slot, data)

        def done(f: asyncio.Future[Any]) -> None:  # back on the event loop
            if f.cancelled():
                return
            error = f.exception()
            if error is not None:
                self.spawn(f"{task.id}-rescue", self.rescue(task, slot, data, error))
                return
            s = task.slots[slot]
            s.image = None
            s.original = None
            s.partial = None

        future.add_done_callback(done)

    def keep_broken(self, task: Task, event: Failed) -> None:
        """A final image that failed the check: its bytes go to the data folder as a
        `.broken` file (the path is shown in the detail view and a toast), then leave memory."""
        future = self.history.call(self.store.write_broken, task, event.slot, event.raw)

        def done(f: asyncio.Future[Any]) -> None:  # back on the event loop
            if f.cancelled():
                return
            s = task.slots[event.slot]
            s.error = replace(event, raw=None)
            error = f.exception()
            if error is not None:
                self.store_error("Broken image not kept")(error)
                return
            self.history.background(self.store.save, task)
            self.changed(task)
            self.notify(
                f"{event.message}\nIts bytes were kept at {s.broken_path}",
                title="Broken image",
                severity="error",
                timeout=20,
            )

        future.add_done_callback(done)

    def keep_partial(self, task: Task, slot: int, data: bytes) -> None:
        """Write a slot's newest preview frame on the store thread; once it is on disk, the
        slot keeps the file (`partial_path`), not the bytes (a 4K frame is ~24 MB)."""
        future = self.history.call(self.store.write_partial, task, slot, data)

        def done(f: asyncio.Future[Any]) -> None:  # back on the event loop
            if f.cancelled():
                return
            error = f.exception()
            if error is not None:
                self.store_error("Preview not saved")(error)
                return
            s = task.slots[slot]
            if s.partial is data:  # not a newer frame that arrived meanwhile
                s.partial = None

        future.add_done_callback(done)

    async def rescue(self, task: Task, slot: int, data: bytes, error: BaseException) -> None:
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
                "you quit. Open the task and press Ctrl+S to save it.",
                title="Image not saved",
                severity="error",
                timeout=30,
            )
            return
        s = task.slots[slot]
        s.image_path = path
        s.image = s.partial = None
        self.history.background(self.store.save, task)
        self.changed(task)
        self.notify(
            f"{error}\nThe image was kept at {path}",
            title="Image not saved in history",
            severity="error",
            timeout=30,
        )

    def end(self, task: Task) -> None:
        """A task reached an end state: keep unfinished previews on disk (files, not bytes),
        save, give the freed memory back."""
        self.handles.pop(task.id, None)
        if task.status in (Status.FAILED, Status.CANCELLED) or any(
            s.status is not SlotStatus.DONE for s in task.slots
        ):
            for i, slot in enumerate(task.slots):
                if slot.partial is not None and slot.image is None and slot.image_path is None:
                    self.keep_partial(task, i, slot.partial)
        self.history.background(
            self.store.save, task, on_error=self.store_error("History not saved")
        )
        # After the writes queued above (the store thread runs them in order) have dropped
        # the task's big buffers: the allocator returns the free pages to the OS.
        self.history.background(memory.give_back)

    # -- operations on a task -------------------------------------------------------------

    def cancel(self, task_id: str) -> Task | None:
        """Cancel a queued or running task: mark it, cancel its coroutine (which closes the
        HTTP stream) and `end` it. The task, or None when it was not running."""
        task = self.tasks.get(task_id)
        if task is None or task.status.ended:
            return None
        handle = self.handles.pop(task_id, None)
        task.cancel(now=self.clock())
        if handle is not None:
            handle.cancel()
        self.end(task)
        return task

    def reuse(self, task_id: str, choice: Params) -> Reuse | None:
        """A task's prompt, parameters (on its profile, else the current one) and inputs."""
        task = self.tasks.get(task_id)
        if task is None:
            return None
        base = find_profile(self.config, task.profile_name) or choice.profile
        attachments = Attachments(
            [Path(p) for p in task.input_images], Path(task.mask) if task.mask else None
        )
        return Reuse(choice.with_task(task.params, base, task.api_mode), attachments, task.prompt)

    def refine(self, task_id: str, slot: int = 0) -> Refine | None:
        """What an edit of this task's image continues (Responses: a follow-up); None (and
        a toast) when it has nothing to refine."""
        task = self.tasks.get(task_id)
        if task is None:
            return None
        image = task.slot_image(slot)
        response_id = task.response_id if task.api_mode == "responses" else None
        if image is None and response_id is None:
            self.notify("This task has no image to refine.", severity="warning")
            return None
        return Refine(task.id, response_id, [] if response_id or image is None else [image])

    def toggle_star(self, task_id: str) -> Task | None:
        task = self.tasks.get(task_id)
        if task is None:
            return None
        task.starred = not task.starred
        self.history.background(
            self.store.set_starred, task.id, task.starred, on_error=self.store_error("Not saved")
        )
        return task

    def forget(self, task_id: str) -> None:
        """Drop an ended task and delete its row and files (on the store thread)."""
        self.tasks.pop(task_id, None)
        self.pages.removed()  # the rows after it move up
        self.history.background(
            self.store.delete, task_id, on_error=self.store_error("Not deleted")
        )

    def failed_ids(self) -> list[str]:
        """Failed or cancelled tasks of this session that are not starred."""
        return [
            t.id
            for t in self.tasks.values()
            if t.status in (Status.FAILED, Status.CANCELLED) and not t.starred
        ]

    async def failed_counts(self) -> dict[str, int] | None:
        """What "Delete failed tasks" would delete, in the whole history: {"failed": n,
        "cancelled": n, "starred": n (failed or cancelled but starred: kept)}; None (and
        a toast) when the store failed. Interrupted tasks are never deleted by it."""

        def counts() -> dict[str, int]:
            count = self.store.count
            out = {s.value: count(TaskFilter(status=s.value, starred=False)) for s in _FAILED}
            out["starred"] = sum(count(TaskFilter(status=s.value, starred=True)) for s in _FAILED)
            return out

        try:
            return dict(await self.history.call(counts))
        except Exception as exc:
            self.notify(str(exc), title="History unavailable", severity="error")
            return None

    async def delete_failed(self) -> int | None:
        """Delete every failed or cancelled task (starred ones stay) in the whole history
        (drop them from `tasks` first: `failed_ids`): the count deleted, or None (and a
        toast) when the store failed."""
        try:
            count: int = await self.history.call(self.store.delete_failed)
        except Exception as exc:
            self.notify(str(exc), title="Not deleted", severity="error")
            return None
        return count

    # -- history --------------------------------------------------------------------------

    def open_history(self) -> asyncio.Future[Any]:
        """Open the store now (first on the store thread: calls made before it run right
        after it), recovering what a dead run left; pass the future to `loaded`."""
        return self.history.open(self.history_limit)

    async def loaded(self, opened: asyncio.Future[Any]) -> list[Task] | None:
        """The newest tasks `open_history` found that are not already here, kept; None
        (and a toast) when history is unavailable."""
        try:
            report, tasks = await opened
        except Exception as exc:  # StoreError: the app still works, without history
            self.notify(str(exc), title="History unavailable", severity="error", timeout=10)
            return None
        if report.message:
            self.notify(report.message, title="History", severity="warning", timeout=15)
        self.pages.first(tasks, self.history_limit)
        tasks = [t for t in tasks if t.id not in self.tasks]
        for task in tasks:
            self.tasks.setdefault(task.id, task)
        return tasks

    async def prompts(self) -> list[str]:
        """Every prompt sent, for recall (raises StoreError)."""
        found: list[str] = await self.history.call(self.store.prompts)
        return found

    async def search_counted(self, where: TaskFilter) -> tuple[list[Task], int] | None:
        """Tasks from the store (all history) matching `where`, running ones with their
        live state, and how many tasks match in all (the list shows at most the history
        limit); None (and a toast) on failure."""

        def both() -> tuple[list[Task], int]:
            found = self.store.load(limit=self.history_limit, where=where)
            return found, self.store.count(where)

        try:
            found, total = await self.history.call(both)
        except Exception as exc:  # StoreError: keep the list as it is
            self.notify(str(exc), title="Search failed", severity="error")
            return None
        self.pages.first(found, self.history_limit, where)
        tasks = [self.tasks.get(t.id, t) for t in found]  # running tasks keep their live state
        for task in tasks:
            self.tasks.setdefault(task.id, task)
        return tasks, total

    async def filter_choices(self) -> dict[str, list[str]]:
        """The models, profiles and collections history holds (empty lists on failure)."""
        try:
            return dict(await self.history.call(self.store.filter_choices))
        except Exception:  # StoreError: the text and status filters still work
            return {"models": [], "profiles": [], "collections": []}

    def history_picture(self, source: bytes | Path, box: tuple[int, int]) -> Any:
        """A card picture for a history task (picture thread): from the store's thumbnail
        of a file, or from bytes; None when it cannot be read."""
        if isinstance(source, Path) and not images.is_animated(source):
            try:
                source = self.store.thumbnail(source, *box)
            except Exception:
                return None
        return images.picture(source, box)  # an animated file plays (its frames)

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
            self.notify(str(exc), title="Export failed", severity="error")
            return None
        self.notify(f"{count} tasks → {path}", title="Exported", timeout=10)
        return path

    async def import_history(self, paths: list[Path]) -> tuple[list[str], list[Task]]:
        """Restore a backup into history (on the store thread): the ids added and the
        added tasks not shown yet."""
        from imgtui.backup import import_backup, read_backups

        def work() -> tuple[list[str], int, list[str]]:
            with read_backups(paths) as backup:
                report = import_backup(backup, self.store)
            return report.added, len(report.skipped), report.warnings

        try:
            added, skipped, warnings = await self.history.call(work)
        except Exception as exc:  # BackupError, StoreError
            self.notify(str(exc), title="Import failed", severity="error")
            return [], []
        tasks = await self.load_new(added)
        note = f"{len(added)} tasks imported, {skipped} already here"
        if warnings:
            note += f"; {len(warnings)} warnings, e.g. {warnings[0]}"
        self.notify(note, title="History imported", timeout=10)
        return added, tasks

    async def import_images(self, paths: list[Path]) -> tuple[list[str], list[Task], list[Path]]:
        """Tasks back from recipe-carrying images (ids added, tasks to show); plain images
        are returned as edit references."""
        from imgtui.importing import import_images

        try:
            report = await self.history.call(import_images, paths, self.store)
        except Exception as exc:  # StoreError
            self.notify(str(exc), title="Import failed", severity="error")
            return [], [], []
        tasks = await self.load_new(report.added)
        self.notify(
            f"{len(report.added)} tasks recreated, {len(report.references)} references "
            f"attached, {len(report.skipped)} already here, {len(report.errors)} unreadable",
            title="Images imported",
            timeout=10,
        )
        return report.added, tasks, list(report.references)

    async def load_new(self, task_ids: list[str]) -> list[Task]:
        """The tasks `task_ids` from the store that this session does not hold yet, kept."""

        def load() -> list[Task | None]:
            return [self.store.get(task_id) for task_id in task_ids]

        found: list[Task | None] = await self.history.call(load)
        tasks = [t for t in found if t is not None and t.id not in self.tasks]
        for task in tasks:
            self.tasks[task.id] = task
        return tasks

    def params_for(self, name: str) -> Params | None:
        """The choice for profile `name` as the composer would take it: its last choice
        (`LastParams`) over the settings' defaults; None when there is no such profile.
        Nothing is saved (F2 shows it before the user applies it)."""
        profile = find_profile(self.config, name)
        if profile is None:
            return None
        s = self.config.settings
        fresh = Params(replace(profile), s.size, s.quality, s.n, s.output_format)
        return self.last_params.apply(fresh)

    def activate(self, name: str) -> None:
        """Save `name` as the active profile when it is a configured one (not yet active)."""
        if self.config.get(name) is not None and self.config.settings.active_profile != name:
            self.config.set_active(name)
            from imgtui.config import save

            self.history.background(
                save, self.config, on_error=self.store_error("Active profile not saved")
            )

    def use_profile(self, name: str) -> Params | None:
        """The composer's choice on the profile `name` (`params_for`), saved as the active
        one when it is a configured profile (`activate`); None when there is no such
        profile."""
        params = self.params_for(name)
        if params is not None:
            self.activate(name)
        return params

    # -- the end --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the runner's clients, stop the picture threads, finish the store's queue
        and close it (blocks on the store thread)."""
        await self.runner.aclose()
        self.pictures.shutdown(wait=False, cancel_futures=True)
        self.history.close()
