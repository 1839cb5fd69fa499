"""While tasks stream, the screen is not laid out again for what keeps its size (issue 16:
a layout pass of the whole screen costs the event loop ~10-40 ms with 8 cards streaming,
`benchmarks/loop_lag.py`). Counted with the screen's own layout signal, published after
every layout pass."""

from __future__ import annotations

from imgtui.tasks import Status
from imgtui.tui.widgets.header import AppHeader
from tests.tui.pilot import settled, submit, wait_for


async def count_layouts(pilot) -> list[int]:
    """A one-item list counting the main screen's layout passes from now on, once the
    passes asked for so far are done (a pass that resizes a widget asks for one more)."""
    app = pilot.app
    passes = [0]

    def counted(_screen) -> None:
        passes[0] += 1

    app.screen.screen_layout_refresh_signal.subscribe(app.screen, counted)
    for _ in range(10):
        before = passes[0]
        await pilot.pause()
        if passes[0] == before:
            break
    passes[0] = 0
    return passes


async def test_the_header_counts_change_without_a_layout_pass(make_app):
    app = make_app(partial_images=1, headers={"x-demo-delay": "3.0"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        tasks = [await submit(pilot, f"counted {i}") for i in range(3)]
        await wait_for(
            pilot,
            lambda: (
                all(card.has_picture for card in app.task_list.cards)
                and all(view.view.picture is not None for view in app.gallery.preview.views)
            ),
            what="the first frame in every card and in the preview",
        )
        header = app.query_one(AppHeader)
        assert header.shown.endswith("3 running · 3 tasks")
        passes = await count_layouts(pilot)
        await wait_for(pilot, lambda: all(t.status is Status.DONE for t in tasks), 60, "done")
        await pilot.pause()
        # three tasks ended: the counts changed three times, the screen kept its layout
        assert header.shown.endswith("— 3 tasks")
        assert passes == [0]


async def test_a_new_sub_title_is_shown_in_place(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        passes = await count_layouts(pilot)
        app.sub_title = "a count of 7"
        await pilot.pause()
        header = app.query_one(AppHeader)
        assert header.shown == f"{app.title} — a count of 7"
        assert "a count of 7" in str(header.title_line.render())
        assert passes == [0]


async def test_a_cards_first_frame_is_painted_without_a_layout_pass(make_app):
    """The card's picture box (and the preview pane's) has its final size before the first
    frame: the frame replacing the placeholder is a repaint, not the two layout passes of
    the whole screen it cost (one for the picture replacing the placeholder, one more for
    the sizes that pass changed)."""
    app = make_app(partial_images=1, headers={"x-demo-delay": "3.0"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a first frame")
        await wait_for(pilot, lambda: task.status is Status.RUNNING, what="the task running")
        card = app.task_list.card(task.id)
        assert card is not None
        passes = await count_layouts(pilot)
        assert not card.has_picture  # counting from before the first frame
        (slot,) = app.gallery.preview.views
        await wait_for(
            pilot,
            lambda: card.has_picture and slot.view.picture is not None,
            what="the first frame in the card and in the preview",
        )
        await pilot.pause()
        await pilot.pause()
        assert passes == [0]
        await wait_for(pilot, lambda: task.status is Status.DONE, 60, "done")


async def test_eight_tasks_submitted_at_once_are_mounted_in_one_layout_pass(make_app):
    """A burst of submissions (8 tasks in one go, as a batch or `loop_lag.py` sends them)
    mounts its cards together: every card of the burst is first laid out in the same pass
    of the screen, not one or two cards a pass (each pass lays out every card already
    there: 10-60 ms each with 8 cards, `benchmarks/loop_lag.py`)."""
    app = make_app(partial_images=1, headers={"x-demo-delay": "3.0"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        await submit(pilot, "the first task")  # the list's first card replaces its empty text
        await wait_for(pilot, lambda: len(app.task_list.cards) == 1, what="the first card")
        await count_layouts(pilot)
        passes = [0]
        first_laid_out: dict[str, int] = {}  # task id -> the pass that first gave it a size

        def laid_out(_screen) -> None:
            passes[0] += 1
            for card in app.task_list.cards:
                if card.size.area and card.imgtask.id not in first_laid_out:
                    first_laid_out[card.imgtask.id] = passes[0]

        app.screen.screen_layout_refresh_signal.subscribe(app.screen, laid_out)
        tasks = [app.submit(f"at once {i}") for i in range(8)]
        await wait_for(
            pilot,
            lambda: app.task_list.tasks[:8] == tasks[::-1],
            what="the 8 tasks listed, newest first",
        )
        for _ in range(5):
            await pilot.pause()
        assert not any(card.has_picture for card in app.task_list.cards)
        shown = [card.imgtask.id for card in app.task_list.cards if card.imgtask in tasks]
        assert len(shown) == 7  # the rows on screen and the buffer below them
        assert {first_laid_out[i] for i in shown} == {1}
