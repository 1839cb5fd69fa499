"""Frames the app no longer shows in full are kept as files, not as bytes in memory."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import replace

from imgtui.api.request import sniff_mime
from imgtui.store import Store
from imgtui.tasks import Status
from imgtui.tui import testing
from imgtui.tui.app import ImgtuiApp
from tests.tui.pilot import settled, submit, wait_for

SIZE = (100, 30)


async def test_failed_task_keeps_its_last_frame_on_disk_not_in_memory(make_app):
    """The connection is cut after one partial frame: the task fails, its frame stays as
    the labelled preview on the card and as a file, and the slot holds no frame bytes."""
    app = make_app(model="fault-drop", partial_images=2)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "cut after one frame")
        await wait_for(pilot, lambda: task.status.ended, timeout=10, what="the failure")
        await settled(pilot)  # the preview's write on the store thread has finished
        assert task.status is Status.FAILED
        slot = task.slots[0]
        assert slot.partial_index == 0
        assert slot.partial is None
        assert slot.partial_path is not None
        assert sniff_mime(slot.partial_path.read_bytes()) == "image/png"
        assert task.preview() == (slot.partial_path, True)


async def test_running_task_keeps_frames_on_disk_not_in_memory(make_app):
    """While a task streams, each preview frame goes to disk and the slot drops its bytes
    once written (a 4K frame is ~24 MB), keeping the file for the detail view."""
    app = make_app(partial_images=3, headers={"x-demo-delay": "3.0"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a slow lighthouse")
        slot = task.slots[0]
        await wait_for(pilot, lambda: slot.partial_index is not None, what="the first frame")
        await settled(pilot)
        assert task.status is Status.RUNNING
        assert slot.partial is None
        assert slot.partial_path is not None
        assert slot.partial_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        app.cancel_task(task.id)
        await wait_for(pilot, lambda: task.status.ended, what="the cancel")


# -- a long session: what each generated task leaves behind ---------------------------------

WARM_TASKS = 8  # fill the list's window of cards first
MEASURED_TASKS = 16
WAVE = 8
TASK_SIZE = "1024x640"  # the smallest size gpt-image-2 takes: the demo draws it fast
# Textual Strips (rendered lines) still alive per task: measured 2-22 (Textual's and rich's
# bounded caches fill unevenly); 42-51 before cards were emptied as they left (issue 16.3).
RETAINED_STRIPS_PER_TASK = 25


async def generate(app, count: int, start: int) -> None:
    """`count` tasks, WAVE at a time, each waited for until it ended; then the store's
    queue (saves, file writes, give-backs) has run."""
    done = start
    while done < start + count:
        batch = [app.submit(f"session {done + i}") for i in range(WAVE)]
        assert all(t is not None for t in batch)
        async with asyncio.timeout(60):
            while not all(t.status.ended for t in batch):
                await asyncio.sleep(0.02)
        assert [t.status for t in batch] == [Status.DONE] * WAVE
        done += WAVE
    await app.history.drain(10)


def live(kind: type) -> int:
    """Objects of exactly `kind` the collector tracks (created after start-up's freeze)."""
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


async def test_a_long_session_keeps_files_not_pictures_or_rendered_lines(tmp_path, server):
    """Tasks generated one after another in one session keep, once ended, their row (the
    Task) and their files: no frame bytes, no decoded pictures beyond a small one per card,
    no cards scrolled away, and not the lines those cards rendered (Textual 8's lru_cache
    on `StylesCache.get_inner_outer` kept every painted widget's lines: ~270 KiB per task
    in `benchmarks/history.py --generate`). Counted in live objects after a full
    collection, so neither RSS nor timing decides."""
    from PIL.Image import Image
    from textual.strip import Strip

    from imgtui.tui.widgets.task_card import TaskCard

    app = ImgtuiApp(
        config=testing.demo_config(tmp_path, partial_images=0),
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer="halfcell",
    )
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.set_params(replace(app.params, size=TASK_SIZE, quality="low"))
        await generate(app, WARM_TASKS, 0)
        await pilot.pause()
        gc.collect()
        strips, images = live(Strip), live(Image)
        await generate(app, MEASURED_TASKS, WARM_TASKS)
        await pilot.pause()
        gc.collect()
        assert len(app.tasks) == WARM_TASKS + MEASURED_TASKS
        for task in app.tasks.values():  # the files, not the bytes
            for slot in task.slots:
                assert slot.image_path is not None and slot.image_path.is_file()
                assert (slot.image, slot.partial, slot.original) == (None, None, None)
        counts = {
            "cards alive": live(TaskCard),
            "cards mounted": len(app.task_list.cards),
            "new pictures": live(Image) - images,
            "new Strips per task": (live(Strip) - strips) / MEASURED_TASKS,
        }
        # Cards scrolled away are gone (a few may wait in a message queue), at most one
        # small picture per task, and not the lines their cards rendered.
        assert counts["cards alive"] - counts["cards mounted"] < WAVE, counts
        assert counts["new pictures"] <= MEASURED_TASKS, counts
        assert counts["new Strips per task"] < RETAINED_STRIPS_PER_TASK, counts


def test_pictures_of_cards_scrolled_away_are_bounded_in_bytes_and_count():
    """The list keeps finished cards' pictures for when their rows come back, within
    PICTURE_CACHE pictures and PICTURE_CACHE_BYTES of pixels, the oldest going first: a
    Sixel card's picture is ~60 KB, a 16-frame animation's ~1 MB (issue 16.3)."""
    from PIL import Image

    from imgtui.images import Frames
    from imgtui.tui.widgets.task_list import PictureCache, picture_bytes

    still = Image.new("RGB", (140, 140))
    animation = Frames(tuple(Image.new("RGB", (140, 140)) for _ in range(16)), (100,) * 16)
    assert picture_bytes(still) == 140 * 140 * 3
    assert picture_bytes(animation) == 16 * 140 * 140 * 3

    cache = PictureCache(count=10, max_bytes=3 * picture_bytes(animation))
    for i in range(4):
        cache.put(f"gif{i}", animation)
    assert (len(cache), cache.bytes) == (3, 3 * picture_bytes(animation))
    assert cache.get("gif0") is None and cache.get("gif3") is animation
    for i in range(12):
        cache.put(f"still{i}", still)
    assert len(cache) == 10  # the count bound: the animations went first, then 2 stills
    assert cache.get("gif3") is None and cache.get("still1") is None
    assert cache.get("still2") is still
    assert cache.bytes == 10 * picture_bytes(still)
    cache.put("huge", Image.new("RGB", (2000, 2000)))  # larger than the bound alone
    assert cache.get("huge") is None and len(cache) == 10
