"""A partial frame's picture goes to the screen before its card's text (issue 16.2): the
card's text lines (~1.5 ms at every frame, which Textual rendered before the picture in the
same update) repaint once the screen update that paints the new picture is out
(`TaskCard.refresh_task_after_paint`; `benchmarks/preview_latency.py`, "to the screen's
next update")."""

from __future__ import annotations

from imgtui.api.events import Partial
from imgtui.tasks import Status
from tests.tui.pilot import RecordingApp, settled, submit, wait_for

SIZE = (160, 48)
DEMO_DELAY = 0.4  # seconds per image: the frames come apart, as from a real model


class TextOrder(RecordingApp):
    """Notes, right after each partial frame's event was handled, whether its card's text
    refresh was put off until the screen's next update (while the picture is set)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.put_off: list[bool] = []
        self.pictures: list[bool] = []

    def on_task_event(self, message) -> None:
        super().on_task_event(message)
        if not isinstance(message.event, Partial) or message.picture is None:
            return
        card = self.task_list.card(message.task_id)
        assert card is not None
        self.put_off.append(card.text_pending)
        self.pictures.append(card.picture is message.picture)


async def test_a_frame_s_card_text_follows_its_picture(make_app, server):
    app = make_app(TextOrder, partial_images=3, headers={"x-demo-hold": "text"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a lighthouse, picture first")
        await wait_for(pilot, lambda: len(app.put_off) == 3, 30, "three partial frames")
        assert app.pictures == [True, True, True]  # each frame's picture set at once...
        assert app.put_off == [True, True, True]  # ...its text after the screen's update
        card = app.task_list.card(task.id)
        assert card is not None
        await wait_for(pilot, lambda: not card.text_pending, what="the card's text refreshed")
        server.release("text")
        await wait_for(pilot, lambda: task.status is Status.DONE, 30, "the task's end")
