"""A frame of the selected task reaches the screen without extra work in the way (issue 16.2):
its card's picture is painted before the preview pane names the frame and decodes it
again, and the pane's text lines repaint in place without a layout pass of the whole screen
(`benchmarks/preview_latency.py`, "to the screen's next update")."""

from __future__ import annotations

import hashlib
from pathlib import Path

from textual.widgets import Static

from imgtui import images
from imgtui.api.events import Partial
from imgtui.tasks import Status
from imgtui.tui import imaging
from imgtui.tui.widgets.preview import frame_key, slot_caption
from tests.tui.pilot import RecordingApp, settled, submit, wait_for

SIZE = (160, 48)  # the preview pane beside the list
DEMO_DELAY = 0.4  # seconds per image: the frames come apart, as from a real model


def asked_for(view, task) -> bool:
    """The slot view has asked for the picture of its slot's newest partial frame."""
    return view.wanted is not None and view.wanted[0] == ("frame", task.slots[0].partial_index)


class FrameOrder(RecordingApp):
    """Notes, right after each partial frame's event was handled, whether the preview pane
    had already asked for that frame's picture and already named it in its caption."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked_at_once: list[bool] = []
        self.named_at_once: list[bool] = []

    def on_task_event(self, message) -> None:
        super().on_task_event(message)
        task = self.tasks.get(message.task_id)
        if task is None or not isinstance(message.event, Partial) or message.picture is None:
            return
        if self.gallery.preview.imgtask is not task:
            return
        (view,) = self.gallery.preview.views
        self.asked_at_once.append(asked_for(view, task))
        self.named_at_once.append(str(view.caption.render()) == slot_caption(task, 0).plain)


async def test_the_preview_decodes_a_frame_after_the_card_painted_it(make_app, server):
    app = make_app(FrameOrder, partial_images=2, headers={"x-demo-hold": "order"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a lighthouse, frame by frame")
        await wait_for(pilot, lambda: len(app.asked_at_once) == 2, 30, "two partial frames")
        assert app.asked_at_once == [False, False]  # not while the card's paint is pending
        assert app.named_at_once == [False, False]
        (view,) = app.gallery.preview.views
        source, _unfinished = task.slots[0].picture()  # the newest frame (bytes or its file)
        box = imaging.box_pixels("halfcell", *view.view.size)  # as the pane asks
        newest = images.picture(source, box, max(2, box[0] // 24)).tobytes()
        await wait_for(  # ...but once the screen was updated, the pane shows it
            pilot,
            lambda: view.view.picture is not None and view.view.picture.tobytes() == newest,
            what="the newest frame in the preview",
        )
        assert str(view.caption.render()) == slot_caption(task, 0).plain == "preview, frame 2 of 2"
        server.release("order")
        await wait_for(pilot, lambda: task.status is Status.DONE, 30, "the task's end")


async def test_the_preview_text_repaints_without_a_layout_pass(make_app):
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a lighthouse at dusk")
        await wait_for(pilot, lambda: task.status is Status.DONE, 30, "the task's end")
        pane = app.gallery.preview
        await wait_for(pilot, lambda: pane.imgtask is task, what="the task in the preview")
        await pilot.pause()
        layouts: list[object] = []
        screen = app.screen
        screen.screen_layout_refresh_signal.subscribe(screen, layouts.append)
        caption = pane.views[0].caption
        shown = caption.render()
        pane.task_changed(task)  # as after any event of the task: the same prompt and lines
        await pilot.pause()
        await pilot.pause()
        assert layouts == []
        assert caption.render() is shown  # unchanged text is not even repainted


def test_a_slot_frame_is_known_by_its_index_not_by_its_file():
    path = Path("images/t/0.partial.png")  # every partial frame of image 1 is written here
    assert frame_key(0, path, True) != frame_key(1, path, True)
    assert frame_key(1, b"frame 2", True) == frame_key(1, path, True)  # bytes, then the file
    final = Path("images/t/0.png")
    assert frame_key(1, final, False) == final


class FrameRecorder(RecordingApp):
    """Notes each partial frame's bytes (digest) as its event is handled."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[str] = []

    def on_task_event(self, message) -> None:
        super().on_task_event(message)
        if isinstance(message.event, Partial) and message.event.image:
            self.frames.append(hashlib.sha256(message.event.image).hexdigest())


async def test_a_frame_of_the_selected_task_is_decoded_once_for_its_card_and_the_pane(
    tmp_path, server, monkeypatch
):
    """The picture thread decodes each partial frame of the task in the preview pane once
    and shrinks it to both the card's box and the pane's (`FrameDecoder.also`); the pane
    shows that frame's picture, the same as a decode at its own box would give."""
    from imgtui.store import Store
    from imgtui.tui import testing

    real_open = images.open_image
    opened: list[str] = []  # digests of what was decoded

    def counting_open(source):
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        opened.append(hashlib.sha256(data).hexdigest())
        return real_open(source)

    monkeypatch.setattr(images, "open_image", counting_open)
    app = FrameRecorder(
        config=testing.demo_config(tmp_path, partial_images=3, headers={"x-demo-hold": "once"}),
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer="halfcell",
    )
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a lighthouse, decoded once")
        pane = app.gallery.preview
        await wait_for(pilot, lambda: len(app.frames) == 3, 30, "three partial frames")
        assert pane.imgtask is task  # the new task is selected: its frames show in the pane
        (view,) = pane.views
        await wait_for(pilot, lambda: view.wanted == asked(view, task), what="the pane's ask")
        await pilot.pause()
        assert len(set(app.frames)) == 3
        assert [opened.count(frame) for frame in app.frames] == [1, 1, 1]
        source, unfinished = task.slots[0].picture()
        assert unfinished and task.slots[0].partial_index == 2
        box = imaging.box_pixels("halfcell", *view.view.size)
        monkeypatch.setattr(images, "open_image", real_open)
        own = images.picture(source, box, max(2, box[0] // 24))
        assert view.view.picture.tobytes() == own.tobytes()  # the newest frame, pane-sized
        card = app.task_list.card(task.id)
        assert card is not None and card.picture.size != view.view.picture.size
        server.release("once")
        await wait_for(pilot, lambda: task.status is Status.DONE, 30, "the task's end")


def asked(view, task) -> tuple:
    """What a slot view has asked for once it shows its slot's newest partial frame."""
    box = imaging.box_pixels("halfcell", *view.view.size)
    return (frame_key(task.slots[0].partial_index, b"", True), box, None)  # no placeholder


async def test_another_tasks_prompt_of_the_same_height_is_shown_without_a_layout_pass(make_app):
    """Selecting another task shows its prompt in place when it takes as many lines as the
    one shown (a burst of submissions selects each new task: a layout pass of the whole
    screen each time), and lays the screen out when it takes more."""
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        first = await submit(pilot, "a lighthouse at dusk")
        second = await submit(pilot, "a harbour at dawn")
        longest = await submit(pilot, "a long prompt " * 20)
        await wait_for(pilot, lambda: all(t.status.ended for t in (first, second, longest)))
        pane = app.gallery.preview
        await pane.show(second)
        await pilot.pause()
        await pilot.pause()
        prompt = pane.query_one("#preview-prompt", Static)
        assert prompt.size.height == 1
        layouts: list[object] = []
        screen = app.screen
        screen.screen_layout_refresh_signal.subscribe(screen, layouts.append)
        await pane.show(first)
        await pilot.pause()
        await pilot.pause()
        assert str(prompt.render()) == "a lighthouse at dusk"
        assert layouts == []
        await pane.show(longest)
        await pilot.pause()
        await pilot.pause()
        assert layouts  # two lines now: laid out
        assert prompt.size.height == 2  # wrapped, within its max-height


async def test_the_preview_says_a_queued_task_has_started_before_its_first_frame(make_app, server):
    """The selected task waited as queued, then started: the pane's picture box says it
    waits for the first frame (it said "queued" until that frame, found in xterm)."""
    # one at a time: the second waits as queued; the final image waits at the gate
    app = make_app(partial_images=0, headers={"x-demo-hold": "started"}, max_concurrent=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        first = await submit(pilot, "a lighthouse held at the gate")
        await wait_for(pilot, lambda: first.status is Status.RUNNING, what="the first running")
        second = await submit(pilot, "a harbour behind it in the queue")
        (view,) = app.gallery.preview.views
        await wait_for(pilot, lambda: app.gallery.preview.imgtask is second, what="selected")
        await wait_for(pilot, lambda: view.view.placeholder == "queued", what="queued")
        assert second.status is Status.QUEUED
        app.cancel_task(first.id)  # the queue moves on: the second starts, held at the gate
        await wait_for(pilot, lambda: second.status is Status.RUNNING, what="the second running")
        await wait_for(
            pilot,
            lambda: view.view.placeholder == "waiting for the first frame…",
            what="the placeholder of a started task",
        )
        assert view.view.picture is None
        server.release("started")
        await wait_for(pilot, lambda: second.status is Status.DONE, 30, "the second's end")
