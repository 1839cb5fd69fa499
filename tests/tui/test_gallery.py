"""The main screen's layout (issue 14.1): the preview pane beside or below the list, or not
at all at 80x24; the grid view (F8); an n=4 task's four images in the preview, each with
its live partial frame; pictures sized to the space they get; the detail view stacking
when narrow."""

from __future__ import annotations

from textual.widgets import Footer

from imgtui.tasks import SlotStatus, Status
from imgtui.tui.screens.detail import DetailScreen
from imgtui.tui.widgets.preview import PreviewPane
from imgtui.tui.widgets.task_card import GRID_CARD_COLS
from tests.tui.pilot import settled, submit, wait_for

DEMO_DELAY = 0.4  # seconds per image: slow enough to see partial frames before the final


def preview(app) -> PreviewPane:
    return app.gallery.preview


async def test_the_preview_sits_beside_below_or_not_at_all(make_app):
    app = make_app(partial_images=1)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        assert app.gallery.arrangement == "side"
        assert preview(app).display and preview(app).region.x > app.task_list.region.right - 1
        await pilot.resize_terminal(100, 50)
        await wait_for(pilot, lambda: app.gallery.arrangement == "below", what="below")
        await pilot.pause()
        assert preview(app).region.y >= app.task_list.region.bottom
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: app.gallery.arrangement == "alone", what="alone")
        await pilot.pause()
        assert preview(app).region.area == 0
        assert app.task_list.region.width >= 78
        shown = {  # footer keys drawn inside the 80 columns
            getattr(key, "description", None)
            for key in app.query_one(Footer).query("*")
            if key.region.width and key.region.right <= 80
        }
        assert {"Generate", "Tasks", "Quit", "Params"} <= shown


async def test_f7_shows_the_cards_as_a_grid_and_back(make_app):
    app = make_app(partial_images=0)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        for i in range(7):
            await submit(pilot, f"grid prompt {i}")
        await wait_for(pilot, lambda: len(app.task_list.cards) == 7, what="the cards")
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.gallery.arrangement == "grid", what="the grid")
        await pilot.pause()
        per_row = app.task_list.per_row
        assert per_row == (app.task_list.scrollable_content_region.width + 1) // (
            GRID_CARD_COLS + 1
        )
        assert per_row >= 4
        cards = app.task_list.cards
        assert len({c.region.y for c in cards[:per_row]}) == 1  # one row
        assert cards[per_row].region.y > cards[0].region.y  # the next row below
        assert preview(app).region.area == 0
        app.task_list.focus()
        await pilot.press("right")
        assert app.task_list.index == 1
        await pilot.press("down")
        assert app.task_list.index == 1 + per_row
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.gallery.arrangement == "side", what="back to the list")


async def test_an_n4_task_shows_its_four_images_live_in_the_preview(make_app, server):
    # the finals wait at a gate until a live frame was seen (x-demo-hold): no race with the
    # demo's pace, whatever the machine's load
    app = make_app(partial_images=2, headers={"x-demo-hold": "four-foxes"})
    app.params = app.params.__class__(app.params.profile, n=4)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        task = await submit(pilot, "four foxes")
        views = preview(app).views
        await wait_for(pilot, lambda: len(preview(app).views) == 4, what="four slot views")
        views = preview(app).views

        def live_frame() -> bool:
            return task.status is Status.RUNNING and any(
                v.view.picture is not None
                and task.slots[v.index].status is SlotStatus.RUNNING
                and "preview" in str(v.caption.render())
                for v in views
            )

        await wait_for(pilot, live_frame, 30, "a live partial frame in its slot")
        server.release("four-foxes")
        await wait_for(pilot, lambda: task.status.ended, 30, "the task's end")
        await wait_for(
            pilot,
            lambda: all(v.view.picture is not None for v in views),
            30,
            "four final pictures",
        )
        assert [str(v.caption.render()) for v in views] == [f"image {i} of 4" for i in range(1, 5)]
        # Four boxes in a 2x2 grid, each far larger than a card's thumbnail.
        xs = sorted({v.region.x for v in views})
        ys = sorted({v.region.y for v in views})
        assert len(xs) == 2 and len(ys) == 2
        small = max(v.view.picture.width for v in views)
        # Pictures size themselves to the space: a bigger terminal, bigger pictures.
        await pilot.resize_terminal(220, 60)
        await wait_for(
            pilot,
            lambda: all(v.view.picture is not None and v.view.picture.width > small for v in views),
            30,
            "larger pictures",
        )


async def test_the_detail_view_stacks_when_narrow(make_app):
    app = make_app(partial_images=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a narrow fox")
        await wait_for(pilot, lambda: task.status.ended, what="the task")
        app.open_detail(task.id)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail")
        await pilot.pause()
        screen = app.screen
        big = screen.query_one("#big")
        info = screen.query_one("#info")
        assert screen.has_class("-narrow")
        assert info.region.y >= big.region.bottom  # below the picture, not beside it
        assert big.region.width >= 76
