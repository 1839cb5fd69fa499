"""Snapshot tests of the main screen and the detail modal (pytest-textual-snapshot).

Deterministic: a fixed clock, a fixed data dir path (paths show in the detail modal), UTC,
halfcell pictures drawn from the demo's deterministic pictures, no cursor blink, and the
history thumbnails waited for. Update with `pytest --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import TextArea

from imgtui.api.events import Partial
from imgtui.store import Store
from imgtui.tasks import Task
from imgtui.tui import imaging, testing
from imgtui.tui.app import ImgtuiApp
from imgtui.tui.messages import TaskEvent

SIZE = (120, 40)
DATA = Path("/tmp/imgtui-snapshot-data")


LOCK_WAIT = 60.0  # seconds; then the module runs without the lock rather than hang


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """The fixed data dir, under an exclusive lock while this module runs: runs from other
    checkouts on this machine use the same path (it shows in the pictures) and would clear
    it midway. A holder that does not let go within LOCK_WAIT is not waited for."""
    with open(DATA.with_suffix(".lock"), "w") as lock:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        yield DATA


@pytest.fixture
def app(monkeypatch, data_dir) -> ImgtuiApp:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    shutil.rmtree(DATA, ignore_errors=True)
    with Store(DATA / "data") as store:
        testing.sample_history(store)
    clock = testing.FixedClock()
    yield ImgtuiApp(
        config=testing.demo_config(DATA),
        store=Store(DATA / "data"),
        renderer="halfcell",
        clock=clock,
        demo_base_url="http://127.0.0.1:9/v1",
    )
    time.tzset()


async def settle(pilot) -> None:
    app = pilot.app
    for area in app.query(TextArea):
        area.cursor_blink = False
    await app.history_loaded.wait()
    for _ in range(2):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def add_running(pilot) -> Task:
    """A task mid-stream, without a worker: one partial frame applied through the handler."""
    app = pilot.app
    task = Task(
        prompt="a hot air balloon over a misty valley at sunrise",
        params=app.params.image_params(),
        profile_name="Demo",
    )
    task.start(now=app.clock() - 7)
    app.add_task(task)
    await pilot.pause()
    png = testing.picture_png(task.prompt, partial=(1, 2))
    app.post_message(TaskEvent(task.id, Partial(0, 1, png), imaging.thumbnail(png, app.thumb_box)))
    await pilot.pause()
    app.tick()
    await pilot.pause()
    return task


def test_main_screen(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await add_running(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_main_screen_list_focused(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await add_running(pilot)
        await pilot.press("tab", "down", "down", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_main_screen_80x24(snap_compare, app):
    """The smallest usual terminal: the list alone, the footer's essentials."""

    async def run_before(pilot):
        await settle(pilot)
        await add_running(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_main_screen_160x48_preview(snap_compare, app):
    """A wide terminal: the list beside the preview of the selected n=3 task, all three
    images large."""

    async def run_before(pilot):
        await settle(pilot)
        await pilot.app.task_list.select("three000000b")
        pilot.app.task_list.focus()
        await settle(pilot)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


def test_grid_view_160x48(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


def test_detail_modal_pager(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.open_detail("three000000b")
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause(0.2)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_detail_modal_failed(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.open_detail("failed00000c")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
