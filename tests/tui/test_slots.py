"""Per-image work for n > 1 (issue 14.2), against the demo server's `some-fail` mode (the
first two image requests fail, later ones complete): after 2 of 4 images failed, retry
runs the 2 again, not all 4; the detail view's pager names the image shown; save, copy,
refine and retry act on that image alone."""

from __future__ import annotations

from dataclasses import replace

from imgtui.tasks import SlotStatus
from imgtui.tui import testing
from imgtui.tui.screens.detail import DetailScreen
from tests.tui.pilot import SIZE, settled, submit, wait_for

DEMO_DELAY = 0.0


def image_requests(server) -> int:
    return sum(1 for r in server.requests if r["path"].endswith("/images/generations"))


async def four_with_two_failed(pilot, server):
    app = pilot.app
    server.clear()  # `some-fail` counts its first two streams from here
    testing.with_model(app, "fault-some-fail")
    app.set_params(replace(app.params, n=4))
    task = await submit(pilot, "four foxes, two of them lost")
    await wait_for(pilot, lambda: task.status.ended, 30, "the n=4 task")
    await settled(pilot)
    assert [s.status for s in task.slots].count(SlotStatus.FAILED) == 2
    assert len(task.images) == 2 and task.status_word() == "2 of 4 done"
    return task


async def test_retry_runs_only_the_failed_images(make_app, server):
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        old = await four_with_two_failed(pilot, server)
        assert image_requests(server) == 4
        failed = [i for i, s in enumerate(old.slots) if s.status is SlotStatus.FAILED]
        await app.task_list.select(old.id)
        app.task_list.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(app.tasks) == 2, what="the retry")
        (new,) = [t for t in app.tasks.values() if t is not old]
        await wait_for(pilot, lambda: new.status.ended, 30, "the retry's end")
        assert new.n == 2 and new.params.n == 2
        assert image_requests(server) == 6  # the 2 failed images, not all 4
        assert new.status_word() == "done" and len(new.images) == 2
        assert new.prompt == old.prompt
        assert len(old.images) == 2  # the old task keeps its two images
        assert failed == [i for i, s in enumerate(old.slots) if s.status is SlotStatus.FAILED]


async def test_the_detail_view_acts_on_the_image_shown(make_app, server, tmp_path):
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await four_with_two_failed(pilot, server)
        done = [i for i, s in enumerate(task.slots) if s.status is SlotStatus.DONE]
        app.open_detail(task.id)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail")
        await pilot.pause()
        screen = app.screen
        pager = screen.query_one("#pager")
        assert "image 1 of 4" in str(pager.render())
        for _ in range(done[1]):
            await pilot.press("right")
        assert screen.index == done[1]
        assert f"image {done[1] + 1} of 4" in str(pager.render())

        # Save: this image only.
        out = tmp_path / "exports"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: out.exists() and len(list(out.iterdir())) == 1, what="save")
        (saved,) = out.iterdir()
        assert saved.name.endswith(f"-{done[1] + 1}.png")

        # Copy: the path of this image.
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.clipboard == str(task.slots[done[1]].image_path)

        # Retry: this image again, alone.
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(app.tasks) == 2, what="the retry of one image")
        (again,) = [t for t in app.tasks.values() if t is not task]
        assert again.n == 1
        await wait_for(pilot, lambda: again.status.ended, 30, "the retry")

        # Refine this image: the composer attaches it and the toast names it.
        app.open_detail(task.id)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail")
        await pilot.pause()
        for _ in range(done[1]):
            await pilot.press("right")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: not isinstance(app.screen, DetailScreen), what="refine")
        assert app.composer.attachments.images == [task.slots[done[1]].image_path]
        assert app.composer.attachments.parent_id == task.id
        toasts = [n.message for n in app.notices]
        assert any(f"Refining image {done[1] + 1} of 4" in m for m in toasts)
