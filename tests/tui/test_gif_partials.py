"""A GIF request sends no `stream` and no `partial_images` (OPENAI-IMAGES.md §2.2), so the
parameter bar and the detail view say none are asked for, not the profile's count."""

from __future__ import annotations

from textual.widgets import Static

from imgtui.draft import Params
from imgtui.tasks import ImageParams, Status
from imgtui.tui.screens.detail import DetailScreen
from tests.tui.pilot import SIZE, settled, submit, wait_for

GIF_MODEL = "gpt-image-2.6-flare"


def bar_text(app) -> str:
    return str(app.param_bar.query_one("#params", Static).render())


def test_a_gif_task_expects_no_partial_frames():
    asked = ImageParams(output_format="gif", stream=True, partial_images=3)
    assert (asked.streams, asked.frames) == (False, 0)
    assert ImageParams(output_format="svg", stream=True, partial_images=2).frames == 0
    assert ImageParams(output_format="png", stream=True, partial_images=3).frames == 3


async def test_gif_shows_the_partials_it_asks_for_none(make_app, server):
    app = make_app(model=GIF_MODEL, partial_images=3)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert "partials 3" in bar_text(app)
        app.set_params(Params(app.params.profile, output_format="gif"))
        await pilot.pause()
        assert "partials off for gif" in bar_text(app)
        assert app.params.profile.stream and app.params.profile.partial_images == 3  # kept

        before = len(server.requests)
        task = await submit(pilot, "a cat in a hat")
        await wait_for(pilot, lambda: task.status.ended, what="the GIF task")
        assert task.status is Status.DONE, task.error_message
        (sent,) = [r for r in server.requests[before:] if r["method"] == "POST"]
        body = sent["json"]
        assert body["output_format"] == "gif"
        assert "partial_images" not in body and "stream" not in body
        assert task.partial_images == 0

        app.open_detail(task.id)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail")
        await pilot.pause()
        params = str(app.screen.query_one("#params", Static).render())
        assert "partials   0 (gif does not stream)" in params

        app.set_params(Params(app.params.profile, output_format="png"))  # streams again
        await pilot.pause()
        assert "partials 3" in bar_text(app)
