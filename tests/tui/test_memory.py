"""Frames the app no longer shows in full are kept as files, not as bytes in memory."""

from __future__ import annotations

from imgtui.api.request import sniff_mime
from imgtui.tasks import Status
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
