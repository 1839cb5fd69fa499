"""Helpers for pilot tests of the app: a recording app, waiting for conditions and for the
store, submitting a prompt, reading a card."""

from __future__ import annotations

import asyncio
import time

from imgtui.tasks import Status
from imgtui.tui.app import ImgtuiApp
from imgtui.tui.messages import TaskEvent
from imgtui.tui.screens.detail import DetailScreen
from imgtui.tui.widgets.task_card import TaskCard

SIZE = (120, 40)


class RecordingApp(ImgtuiApp):
    """The app, noting each task's status word after every event the handler applies."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: dict[str, list[str]] = {}

    def on_task_event(self, message: TaskEvent) -> None:
        ImgtuiApp.on_task_event(self, message)
        message.prevent_default()  # the base handler ran just above
        task = self.tasks.get(message.task_id)
        if task is not None:
            words = self.seen.setdefault(task.id, [])
            if not words or words[-1] != task.status_word():
                words.append(task.status_word())


async def wait_for(pilot, predicate, timeout: float = 20.0, what: str = "condition") -> None:
    """Pause until `predicate()` holds; fail after `timeout` seconds (a bound, not a measure)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def settled(pilot) -> None:
    """History loaded and every store write issued so far done."""
    app = pilot.app
    await asyncio.wait_for(app.history_loaded.wait(), 10)
    await app.history.drain(10)
    await pilot.pause()


async def submit(pilot, prompt: str):
    app = pilot.app
    before = set(app.tasks)
    app.composer.area.focus()
    app.composer.set_text(prompt)
    await pilot.press("enter")
    await wait_for(pilot, lambda: set(app.tasks) - before, what="the new task")
    (task_id,) = set(app.tasks) - before
    return app.tasks[task_id]


async def open_done_task(pilot, prompt: str = "a lighthouse"):
    """Submit `prompt`, wait for the task's end and its store writes, then open its detail
    view from the list (Enter); the task."""
    app = pilot.app
    task = await submit(pilot, prompt)
    await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
    await settled(pilot)
    app.task_list.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail view")
    return task


def card_text(app, task_id: str, part: str = "info") -> str:
    """A card's text; the info part on one line (the card wraps it to its width, which
    depends on the layout: beside the preview, alone, in the grid)."""
    card = app.query_one(f"#task-{task_id}", TaskCard)
    if part == "info":
        return " ".join(card.info_text().split())
    return str(card.query_one(f"#{part}").render())


def asking(app) -> bool:
    """A yes/no question is on screen and composed (its buttons take the keys)."""
    from imgtui.tui.screens.confirm import ConfirmScreen

    return isinstance(app.screen, ConfirmScreen) and bool(app.screen.query("#no"))
