"""Frames of a card that cannot be seen are not decoded into pictures (issue 16.4): the
card is marked stale and catches up with its task's newest frame once it can be seen."""

from __future__ import annotations

from imgtui import images
from imgtui.tasks import Status
from imgtui.tui.screens.detail import DetailScreen
from tests.tui.pilot import settled, submit, wait_for

SIZE = (120, 40)


async def test_frames_behind_the_detail_view_are_skipped_then_the_newest_is_shown(make_app):
    app = make_app(partial_images=3, headers={"x-demo-delay": "4.0"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a slow lighthouse")
        card = app.task_list.card(task.id)
        assert card is not None
        await wait_for(pilot, lambda: card.has_picture, what="the first frame on the card")
        decoder = app.picture_gate.decoders[task.id]
        assert decoder.skipped == 0
        first = card._thumb.picture

        app.open_detail(task.id)  # covers the card
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail")
        seen_index = task.slots[0].partial_index
        await wait_for(
            pilot, lambda: task.id in app.picture_gate.stale, what="a frame behind the modal"
        )
        assert decoder.skipped >= 1
        assert task.slots[0].partial_index != seen_index
        assert card._thumb.picture is first  # nothing decoded for the covered card

        await pilot.press("escape")
        await wait_for(pilot, lambda: task.id not in app.picture_gate.stale, what="catch-up")
        shown = card._thumb.picture
        assert shown is not first
        source, _unfinished = task.preview()
        expected = images.picture(source, app.thumb_box)
        assert shown.tobytes() == expected.tobytes()  # the newest frame, not an older one

        app.cancel_task(task.id)
        await wait_for(pilot, lambda: task.status.ended, what="the cancel")
        assert task.status is Status.CANCELLED
